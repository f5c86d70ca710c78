// The Vercel AI SDK's default OpenAI provider (the Responses API, store on) in a two-step tool loop.
// Environment: ONEAPI_BASE_URL (ending in /v1), ONEAPI_KEY, MODEL. Prints the result as JSON.
import { createOpenAI } from "@ai-sdk/openai";
import { generateText, jsonSchema, stepCountIs, tool } from "ai";

const openai = createOpenAI({ baseURL: process.env.ONEAPI_BASE_URL, apiKey: process.env.ONEAPI_KEY });
const weather = tool({
  description: "The current weather in a city",
  inputSchema: jsonSchema({ type: "object", properties: { city: { type: "string" } }, required: ["city"],
                            additionalProperties: false }),
  execute: async ({ city }) => `sunny in ${city}`,
});
const result = await generateText({
  model: openai(process.env.MODEL),
  prompt: "What is the weather in Paris?",
  tools: { weather },
  stopWhen: stepCountIs(3),
});
console.log(JSON.stringify({
  text: result.text,
  steps: result.steps.length,
  toolResults: result.steps.flatMap((step) => step.toolResults.map((r) => r.output)),
  responseIds: result.steps.map((step) => step.response.id),
}));
