-- medusa.resources.auth: medusa-js's AuthResource, per client. A login's session cookie
-- and token belong to the client that made it and are never seen by another client.
return {
  name = "auth",
  methods = {
    -- authenticate{email=, password=} -> {customer, response}; keeps the session cookie
    authenticate = { "POST", "/store/auth", params = {}, payload = true, on_success = "start_session" },
    -- getSession() -> {customer, response}
    getSession = { "GET", "/store/auth", params = {} },
    -- deleteSession() -> {response}; forgets the session cookie
    deleteSession = { "DELETE", "/store/auth", params = {}, on_success = "end_session", always = true },
    -- exists(email) -> {exists, response}
    exists = { "GET", "/store/auth/{email}", params = { "email" } },
    -- getToken{email=, password=} -> {access_token, response}; keeps the token for this client
    getToken = { "POST", "/store/auth/token", params = {}, payload = true, on_success = "keep_token" },
    -- setToken(token | nil): use this token from now on, or forget it
    setToken = { local_call = "set_token" },
  },
}
