"""The management API: One API's ``/api`` routes and ``{success, message, data}`` envelope."""
