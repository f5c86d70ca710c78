/* Entry point: checks the session, applies the user's role to the page, then starts the
   page's own controller (body[data-page]). */
import * as account from "./account.js";
import * as channels from "./channels.js";
import {api, applyUser, config, goToLogin, session} from "./core.js";
import * as manage from "./manage.js";
import * as playground from "./playground.js";
import * as signin from "./signin.js";

const pages = {...account, ...channels, ...manage, ...playground, ...signin};

async function boot() {
  if (config.minRole > 0) {
    let user;
    try {
      user = await api.get("/api/user/self");
    } catch (error) {
      if (!session.user) goToLogin();
      return;
    }
    if (!applyUser(user) || signin.holdForTwoFactor(user)) return;
  }
  const start = pages[config.page];
  if (start) await start();
  document.body.dataset.ready = "true";
}

boot();
