---@meta
-- medusa/meta.lua: LuaLS type definitions for editors (lua-language-server reads this file;
-- nothing requires it at run time). The methods are built from declarations at run time,
-- so their signatures are written out here once.

---@class medusa.Module
---@field _VERSION string
---@field version string
---@field null lightuserdata         JSON null; the same value as cjson.null
---@field array_mt table             the metatable of JSON arrays
---@field json medusa.Json
---@field Error medusa.ErrorModule
---@overload fun(config?: medusa.Config): medusa.Medusa
local Medusa = {}

---Builds a client. Raises on an unknown config key or a bad value, naming it.
---@param config? medusa.Config
---@return medusa.Medusa
function Medusa.new(config) end

---Marks t (default: a new table) as a JSON array, so it encodes as `[]` even when empty.
---@generic T: table
---@param t? T
---@return T
function Medusa.array(t) end

---@class medusa.Medusa
---@field client medusa.Client
---@field paymentCollections medusa.PaymentCollections
---@field auth medusa.Auth
local Instance = {}

---Closes the connection; later calls raise. Safe to call twice.
function Instance:close() end

---@class medusa.Client
local Client = {}

---Any route, through the same pipeline as the resources. `options` keys become headers
---(below customHeaders). POST and DELETE send `{}` without a payload; GET has no body.
---@param method "GET"|"POST"|"DELETE"
---@param path string                  starts with "/", may carry "?query"
---@param payload? any                 anything JSON-encodable
---@param options? table<string,string>
---@param customHeaders? table<string,string>
---@return medusa.Result|nil result
---@return medusa.Error|nil err
function Client.request(method, path, payload, options, customHeaders) end

---@class medusa.Response
---@field status integer
---@field headers table<string, string|string[]>  lower-cased names; set-cookie is a list

---@class medusa.Result
---@field response medusa.Response
---@field data any   the body, when it is a JSON array, string or number

---@class medusa.Region
---@field id string
---@field name string
---@field currency_code string
---@field tax_rate number
---@field payment_providers? {id: string, is_installed: boolean}[]

---@class medusa.PaymentSession
---@field id string                     "ps_..."
---@field provider_id string
---@field amount integer|nil
---@field status "authorized"|"pending"|"requires_more"|"error"|"canceled"
---@field is_selected boolean|nil
---@field is_initiated boolean
---@field data table
---@field payment_authorized_at string|nil
---@field created_at string
---@field updated_at string

---@class medusa.PaymentCollection
---@field id string                     "paycol_..."
---@field type "order_edit"
---@field status "not_paid"|"awaiting"|"authorized"|"partially_authorized"|"canceled"
---@field description string|nil
---@field amount integer
---@field authorized_amount integer|nil
---@field currency_code string
---@field region medusa.Region|nil
---@field payment_sessions medusa.PaymentSession[]|nil
---@field payments table[]|nil
---@field metadata table|nil

---@class medusa.PaymentCollectionResult: medusa.Result
---@field payment_collection medusa.PaymentCollection

---@class medusa.PaymentSessionResult: medusa.Result
---@field payment_session medusa.PaymentSession

---@class medusa.RetrieveQuery
---@field expand? string   comma-separated relations; replaces the defaults (region, payment_sessions)
---@field fields? string   comma-separated fields

---@class medusa.SessionInput
---@field provider_id string
---@field amount integer
---@field session_id? string

---Every method works with a dot or a colon, and returns `result` or `nil, err`.
---@class medusa.PaymentCollections
local PaymentCollections = {}

---@param id string
---@param query? medusa.RetrieveQuery
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.retrieve(id, query, customHeaders) end

---@param id string
---@param session_id string
---@param customHeaders? table<string,string>
---@return medusa.PaymentSessionResult|nil
---@return medusa.Error|nil
function PaymentCollections.authorizePaymentSession(id, session_id, customHeaders) end

---@param id string
---@param payload {session_ids: string[]}
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.authorizePaymentSessionsBatch(id, payload, customHeaders) end

---@param id string
---@param payload {sessions: medusa.SessionInput[]}
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.managePaymentSessionsBatch(id, payload, customHeaders) end

---@param id string
---@param payload {provider_id: string}
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.managePaymentSession(id, payload, customHeaders) end

---@param id string
---@param session_id string
---@param customHeaders? table<string,string>
---@return medusa.PaymentSessionResult|nil
---@return medusa.Error|nil
function PaymentCollections.refreshPaymentSession(id, session_id, customHeaders) end

---@class medusa.Credentials
---@field email string
---@field password string

---A login belongs to the client that made it.
---@class medusa.Auth
local Auth = {}

---POST /store/auth; keeps the session cookie for this client's later requests.
---@param payload medusa.Credentials
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Auth.authenticate(payload, customHeaders) end

---GET /store/auth
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Auth.getSession(customHeaders) end

---DELETE /store/auth; forgets the session cookie.
---@param customHeaders? table<string,string>
---@return medusa.Result|nil
---@return medusa.Error|nil
function Auth.deleteSession(customHeaders) end

---GET /store/auth/{email}
---@param email string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{exists: boolean})|nil
---@return medusa.Error|nil
function Auth.exists(email, customHeaders) end

---POST /store/auth/token; keeps the token, sent as `Authorization: Bearer` on /store requests.
---@param payload medusa.Credentials
---@param customHeaders? table<string,string>
---@return (medusa.Result|{access_token: string})|nil
---@return medusa.Error|nil
function Auth.getToken(payload, customHeaders) end

---Uses this token from now on, or forgets it (nil).
---@param token string|nil
function Auth.setToken(token) end

---@class medusa.Json
---@field null lightuserdata
---@field array_mt table
---@field safe medusa.JsonSafe
local Json = {}

---The same as medusa.Json, returning nil, err instead of raising.
---@class medusa.JsonSafe
---@field encode fun(value: any, array_keys?: table<string,boolean>): string|nil, string|nil
---@field decode fun(text: string): any, string|nil

---Compact JSON, object keys in byte order. Raises on NaN, cycles, sparse tables, bad UTF-8...
---@param value any
---@param array_keys? table<string,boolean>  keys whose empty table values encode as []
---@return string
function Json.encode(value, array_keys) end

---Strict JSON; integers become Lua integers. Raises on invalid input.
---@param text string
---@return any
function Json.decode(text) end

---@generic T: table
---@param t? T
---@return T
function Json.array(t) end

---@class medusa.ErrorModule
---@field is fun(value: any): boolean

return Medusa
