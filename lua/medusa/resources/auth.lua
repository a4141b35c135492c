-- medusa.resources.auth: medusa-js's AuthResource, per client. A login's session cookie
-- and token belong to the client that made it and are never seen by another client.
return {
  name = "auth",
  methods = {
    authenticate = { "POST", "/store/auth", body = "payload", returns = "customer", after = "start_session",
      types = { payload = "medusa.Credentials" },
      doc = "logs in with {email, password}; this client keeps the session cookie" },
    getSession = { "GET", "/store/auth", returns = "customer", doc = "the logged-in customer" },
    deleteSession = { "DELETE", "/store/auth", after = "end_session", always = true,
      doc = "logs out; this client forgets its cookies even when the request fails" },
    exists = { "GET", "/store/auth/{email}", returns = "exists", types = { result = "medusa.Result|{exists: boolean}" },
      doc = "whether a customer has this email" },
    getToken = { "POST", "/store/auth/token", body = "payload", returns = "access_token", after = "keep_token",
      types = { payload = "medusa.Credentials", result = "medusa.Result|{access_token: string}" },
      doc = "a JWT for {email, password}; this client sends it as a bearer token from then on" },
    setToken = { local_call = "set_token", args = { "token" }, types = { token = "string|nil" },
      doc = "use this token (a string) on this client's /store requests from now on, or forget it (nil)" },
  },
}
