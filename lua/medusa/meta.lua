---@meta
-- medusa/meta.lua: LuaLS type definitions for editors (lua-language-server reads this file;
-- nothing requires it at run time). The methods are built from declarations at run time, so
-- their types between the GENERATED lines come from those declarations (tools/gen_api.lua,
-- `make api-docs`); the rest is written by hand.

---@class medusa.Module
---@field _VERSION string
---@field version string
---@field null lightuserdata         JSON null; the same value as cjson.null
---@field array_mt table             the metatable of JSON arrays
---@field object_mt table            the metatable of the objects inside results and error bodies (prints them)
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
local Instance = {}

---Closes the connection; later calls raise. Safe to call twice. On a view, does nothing.
function Instance:close() end

---A view of the same client (connection pool, cookie jar, token, key, hooks) whose calls use
---these settings; customHeaders are merged over the client's. Other keys raise.
---@param settings medusa.CallSettings
---@return medusa.Medusa
function Instance:with(settings) end

---Runs fn(...) as a task that starts now (medusa.tasks): inside it, calls wait without
---blocking the other tasks.
---@param fn function
---@return medusa.Task
function Instance:spawn(fn, ...) end

---Runs every function of list as a task and returns when all have ended: results[i],
---errs[i] are task i's two return values. A raising task cancels the others and is raised
---again; opts.timeout (ms) cancels what still runs then.
---@param list function[]
---@param opts? {timeout?: integer}
---@return table results, table errs
function Instance:all(list, opts) end

---The scheduler's face for an event loop that already runs (cqueues, luv).
---@return medusa.Loop
function Instance:loop() end

---@class medusa.Task
---@field state "running"|"done"|"failed"|"cancelled"
---@field engine "curl"|"ngx"
local Task = {}
---The function's results, once it has ended (raises what it raised).
function Task:wait() end
---Abandons its pending request; its result becomes nil, err (type "cancelled"). true when it ran.
---@return boolean
function Task:cancel() end
---@return boolean
function Task:done() end

---@class medusa.Loop
local Loop = {}
---A descriptor readable when any request's socket is ready.
---@return integer
function Loop:fd() end
---ms until step() has work without fd: 0 now, -1 only fd, nil when no task runs.
---@return integer|nil
function Loop:next_timeout() end
---Does what is due without blocking; returns the tasks still running.
---@return integer
function Loop:step() end
---@return boolean
function Loop:alive() end

---@class medusa.CallSettings
---@field timeout? integer
---@field connectTimeout? integer
---@field maxRetries? integer
---@field maxRetryDelay? integer
---@field maxResponseBytes? integer
---@field customHeaders? table<string,string>

---Calls fn with each event of this client's calls, after the functions already registered
---for it. Secret header values (Authorization, Cookie, Set-Cookie, x-medusa-access-token)
---reach fn as "[redacted]". An error fn raises propagates to the caller of the request.
---@param event "request"|"response"|"retry"|"error"
---@param fn fun(event: medusa.RequestEvent|medusa.ResponseEvent|medusa.RetryEvent|medusa.ErrorEvent)
---@return function fn  the function, for off
function Instance:on(event, fn) end

---Removes fn's latest registration for event.
---@param event "request"|"response"|"retry"|"error"
---@param fn function
---@return boolean removed
function Instance:off(event, fn) end

---Before each attempt.
---@class medusa.RequestEvent
---@field method string
---@field url string
---@field attempt integer                 1 for the first
---@field headers {[1]: string, [2]: string}[]  the list about to be sent (a copy)

---After each attempt that got a status line.
---@class medusa.ResponseEvent
---@field method string
---@field url string
---@field status integer
---@field headers table<string, string|string[]>  lower-cased names (a copy); set-cookie is a list
---@field elapsed_ms number
---@field attempt integer

---Before the wait that precedes a retry.
---@class medusa.RetryEvent
---@field error medusa.Error   the failed attempt's
---@field delay_ms number      the wait about to be waited
---@field attempt integer      the number of the attempt that follows
---@field method string
---@field url string

---When a call returns an error.
---@class medusa.ErrorEvent
---@field error medusa.Error   what the call returns
---@field method string
---@field url string

---@class medusa.Config
---@field debug boolean|fun(line: string)|nil  a line per attempt to stderr (nginx's error log for a call
---                                   through cosockets) or to this function; nil: on when MEDUSA_DEBUG is set

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

---@class medusa.Credentials
---@field email string
---@field password string

-- BEGIN GENERATED by tools/gen_api.lua meta: do not edit; `make api-docs` rewrites it
-- Every method works with a dot or a colon. medusa.Medusa is opened again here for its
-- resources; LuaLS merges the fields of both declarations.

---@class medusa.Medusa
---@field auth medusa.Auth
---@field carts medusa.Carts
---@field collections medusa.Collections
---@field customers medusa.Customers
---@field giftCards medusa.GiftCards
---@field orderEdits medusa.OrderEdits
---@field orders medusa.Orders
---@field paymentCollections medusa.PaymentCollections
---@field paymentMethods medusa.PaymentMethods
---@field productCategories medusa.ProductCategories
---@field productTags medusa.ProductTags
---@field productTypes medusa.ProductTypes
---@field products medusa.Products
---@field regions medusa.Regions
---@field returnReasons medusa.ReturnReasons
---@field returns medusa.Returns
---@field shippingOptions medusa.ShippingOptions
---@field swaps medusa.Swaps

---sends this x-publishable-api-key on this client's later requests, not on every instance's as in medusa-js (nil or "": none)
---@param key string|nil
function Instance.setPublishableKey(key) end

---@class medusa.Auth
local Auth = {}

---logs in with {email, password}; this client keeps the session cookie (POST /store/auth)
---@param payload medusa.Credentials
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Auth.authenticate(payload, customHeaders) end

---logs out; this client forgets its cookies even when the request fails (DELETE /store/auth)
---@param customHeaders? table<string,string>
---@return medusa.Result|nil
---@return medusa.Error|nil
function Auth.deleteSession(customHeaders) end

---whether a customer has this email (GET /store/auth/{email})
---@param email string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{exists: boolean})|nil
---@return medusa.Error|nil
function Auth.exists(email, customHeaders) end

---the logged-in customer (GET /store/auth)
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Auth.getSession(customHeaders) end

---a JWT for {email, password}; this client sends it as a bearer token from then on (POST /store/auth/token)
---@param payload medusa.Credentials
---@param customHeaders? table<string,string>
---@return (medusa.Result|{access_token: string})|nil
---@return medusa.Error|nil
function Auth.getToken(payload, customHeaders) end

---use this token (a string) on this client's /store requests from now on, or forget it (nil)
---@param token string|nil
function Auth.setToken(token) end

---@class medusa.Carts
---@field lineItems medusa.CartsLineItems
local Carts = {}

---adds the shipping option payload.option_id (POST /store/carts/{cart_id}/shipping-methods)
---@param cart_id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.addShippingMethod(cart_id, payload, customHeaders) end

---places the order: {type = "order"|"cart"|"swap", data} (POST /store/carts/{cart_id}/complete)
---@param cart_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{data: table})|nil
---@return medusa.Error|nil
function Carts.complete(cart_id, customHeaders) end

---a new cart ({region_id?, items?, ...}) (POST /store/carts)
---@param payload? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.create(payload, customHeaders) end

---one payment session per provider of the cart's region (POST /store/carts/{cart_id}/payment-sessions)
---@param cart_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.createPaymentSessions(cart_id, customHeaders) end

---removes a discount code (DELETE /store/carts/{cart_id}/discounts/{code})
---@param cart_id string
---@param code string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.deleteDiscount(cart_id, code, customHeaders) end

---removes a provider's session (DELETE /store/carts/{cart_id}/payment-sessions/{provider_id})
---@param cart_id string
---@param provider_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.deletePaymentSession(cart_id, provider_id, customHeaders) end

---replaces a provider's session with a new one (POST /store/carts/{cart_id}/payment-sessions/{provider_id}/refresh)
---@param cart_id string
---@param provider_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.refreshPaymentSession(cart_id, provider_id, customHeaders) end

---a cart (GET /store/carts/{cart_id})
---@param cart_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.retrieve(cart_id, customHeaders) end

---selects the session of payload.provider_id (POST /store/carts/{cart_id}/payment-session)
---@param cart_id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.setPaymentSession(cart_id, payload, customHeaders) end

---sets email, addresses, region, discounts, gift cards, customer (POST /store/carts/{cart_id})
---@param cart_id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.update(cart_id, payload, customHeaders) end

---updates a provider's session data ({data}) (POST /store/carts/{cart_id}/payment-sessions/{provider_id})
---@param cart_id string
---@param provider_id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function Carts.updatePaymentSession(cart_id, provider_id, payload, customHeaders) end

---@class medusa.CartsLineItems
local CartsLineItems = {}

---adds {variant_id, quantity, metadata?} (POST /store/carts/{cart_id}/line-items)
---@param cart_id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function CartsLineItems.create(cart_id, payload, customHeaders) end

---removes a line (DELETE /store/carts/{cart_id}/line-items/{line_id})
---@param cart_id string
---@param line_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function CartsLineItems.delete(cart_id, line_id, customHeaders) end

---sets {quantity, metadata?} of a line (POST /store/carts/{cart_id}/line-items/{line_id})
---@param cart_id string
---@param line_id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{cart: table})|nil
---@return medusa.Error|nil
function CartsLineItems.update(cart_id, line_id, payload, customHeaders) end

---@class medusa.Collections
local Collections = {}

---product collections (GET /store/collections)
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{collections: table})|nil
---@return medusa.Error|nil
function Collections.list(query, customHeaders) end

---a collection by id (GET /store/collections/{id})
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{collection: table})|nil
---@return medusa.Error|nil
function Collections.retrieve(id, customHeaders) end

---@class medusa.Customers
---@field addresses medusa.CustomersAddresses
---@field paymentMethods medusa.PaymentMethods
local Customers = {}

---registers {email, password, first_name, last_name, phone?} and logs the customer in (POST /store/customers)
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Customers.create(payload, customHeaders) end

---asks for a password-reset token for {email} (sent by the backend's notifier) (POST /store/customers/password-token)
---@param payload table
---@param customHeaders? table<string,string>
---@return medusa.Result|nil
---@return medusa.Error|nil
function Customers.generatePasswordToken(payload, customHeaders) end

---the customer's orders: {orders, count, offset, limit} (GET /store/customers/me/orders)
---@param params? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{orders: table})|nil
---@return medusa.Error|nil
function Customers.listOrders(params, customHeaders) end

---sets a new password with {email, password, token} (POST /store/customers/password-reset)
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Customers.resetPassword(payload, customHeaders) end

---the logged-in customer (GET /store/customers/me)
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Customers.retrieve(customHeaders) end

---sets names, email, phone, password, billing address, metadata (POST /store/customers/me)
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function Customers.update(payload, customHeaders) end

---@class medusa.CustomersAddresses
local CustomersAddresses = {}

---adds {address = {...}} to the customer's shipping addresses (POST /store/customers/me/addresses)
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function CustomersAddresses.addAddress(payload, customHeaders) end

---removes a saved address (DELETE /store/customers/me/addresses/{address_id})
---@param address_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function CustomersAddresses.deleteAddress(address_id, customHeaders) end

---changes fields of a saved address (POST /store/customers/me/addresses/{address_id})
---@param address_id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{customer: table})|nil
---@return medusa.Error|nil
function CustomersAddresses.updateAddress(address_id, payload, customHeaders) end

---@class medusa.GiftCards
local GiftCards = {}

---a gift card by code (GET /store/gift-cards/{code})
---@param code string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{gift_card: table})|nil
---@return medusa.Error|nil
function GiftCards.retrieve(code, customHeaders) end

---@class medusa.OrderEdits
local OrderEdits = {}

---confirms a requested edit (its payment collection must be authorized) (POST /store/order-edits/{id}/complete)
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{order_edit: table})|nil
---@return medusa.Error|nil
function OrderEdits.complete(id, customHeaders) end

---declines a requested edit ({declined_reason?}) (POST /store/order-edits/{id}/decline)
---@param id string
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{order_edit: table})|nil
---@return medusa.Error|nil
function OrderEdits.decline(id, payload, customHeaders) end

---an order edit with its changes, difference_due and payment_collection_id (GET /store/order-edits/{id})
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{order_edit: table})|nil
---@return medusa.Error|nil
function OrderEdits.retrieve(id, customHeaders) end

---@class medusa.Orders
local Orders = {}

---confirms a claim with the emailed {token} (POST /store/orders/customer/confirm)
---@param payload table
---@param customHeaders? table<string,string>
---@return medusa.Result|nil
---@return medusa.Error|nil
function Orders.confirmRequest(payload, customHeaders) end

---an order by {display_id, email, shipping_address?} (GET /store/orders)
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{order: table})|nil
---@return medusa.Error|nil
function Orders.lookupOrder(payload, customHeaders) end

---asks to claim guest orders {order_ids} for the logged-in customer (POST /store/orders/batch/customer/token)
---@param payload table
---@param customHeaders? table<string,string>
---@return medusa.Result|nil
---@return medusa.Error|nil
function Orders.requestCustomerOrders(payload, customHeaders) end

---an order (GET /store/orders/{id})
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{order: table})|nil
---@return medusa.Error|nil
function Orders.retrieve(id, customHeaders) end

---the order a completed cart became (GET /store/orders/cart/{cart_id})
---@param cart_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{order: table})|nil
---@return medusa.Error|nil
function Orders.retrieveByCartId(cart_id, customHeaders) end

---@class medusa.PaymentCollections
local PaymentCollections = {}

---authorizes one session of the collection (POST /store/payment-collections/{id}/sessions/{session_id}/authorize)
---@param id string
---@param session_id string
---@param customHeaders? table<string,string>
---@return medusa.PaymentSessionResult|nil
---@return medusa.Error|nil
function PaymentCollections.authorizePaymentSession(id, session_id, customHeaders) end

---authorizes the sessions payload.session_ids (POST /store/payment-collections/{id}/sessions/batch/authorize)
---@param id string
---@param payload {session_ids: string[]}
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.authorizePaymentSessionsBatch(id, payload, customHeaders) end

---creates or updates the session of payload.provider_id for the whole amount (POST /store/payment-collections/{id}/sessions)
---@param id string
---@param payload {provider_id: string}
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.managePaymentSession(id, payload, customHeaders) end

---sets the sessions payload.sessions ({provider_id, amount, session_id?}); others are deleted
---(POST /store/payment-collections/{id}/sessions/batch)
---@param id string
---@param payload {sessions: medusa.SessionInput[]}
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.managePaymentSessionsBatch(id, payload, customHeaders) end

---replaces a session with a new one (a new id) (POST /store/payment-collections/{id}/sessions/{session_id})
---@param id string
---@param session_id string
---@param customHeaders? table<string,string>
---@return medusa.PaymentSessionResult|nil
---@return medusa.Error|nil
function PaymentCollections.refreshPaymentSession(id, session_id, customHeaders) end

---a payment collection; query.expand replaces the default relations (GET /store/payment-collections/{id})
---@param id string
---@param query? medusa.RetrieveQuery
---@param customHeaders? table<string,string>
---@return medusa.PaymentCollectionResult|nil
---@return medusa.Error|nil
function PaymentCollections.retrieve(id, query, customHeaders) end

---@class medusa.PaymentMethods
local PaymentMethods = {}

---the logged-in customer's saved payment methods, per provider (GET /store/customers/me/payment-methods)
---@param customHeaders? table<string,string>
---@return (medusa.Result|{payment_methods: table})|nil
---@return medusa.Error|nil
function PaymentMethods.list(customHeaders) end

---@class medusa.ProductCategories
local ProductCategories = {}

---product categories (GET /store/product-categories)
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{product_categories: table})|nil
---@return medusa.Error|nil
function ProductCategories.list(query, customHeaders) end

---a category by id (GET /store/product-categories/{id})
---@param id string
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{product_category: table})|nil
---@return medusa.Error|nil
function ProductCategories.retrieve(id, query, customHeaders) end

---@class medusa.ProductTags
local ProductTags = {}

---product tags (GET /store/product-tags)
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{product_tags: table})|nil
---@return medusa.Error|nil
function ProductTags.list(query, customHeaders) end

---@class medusa.ProductTypes
local ProductTypes = {}

---product types (GET /store/product-types)
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{product_types: table})|nil
---@return medusa.Error|nil
function ProductTypes.list(query, customHeaders) end

---@class medusa.Products
---@field variants medusa.ProductsVariants
local Products = {}

---products: {products, count, offset, limit} (GET /store/products)
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{products: table})|nil
---@return medusa.Error|nil
function Products.list(query, customHeaders) end

---a product by id (GET /store/products/{id})
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{product: table})|nil
---@return medusa.Error|nil
function Products.retrieve(id, customHeaders) end

---full-text search through the backend's search plugin ({q, offset?, limit?, filter?}) (POST /store/products/search)
---@param searchOptions table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{hits: table})|nil
---@return medusa.Error|nil
function Products.search(searchOptions, customHeaders) end

---@class medusa.ProductsVariants
local ProductsVariants = {}

---variants (GET /store/variants)
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{variants: table})|nil
---@return medusa.Error|nil
function ProductsVariants.list(query, customHeaders) end

---a variant by id (GET /store/variants/{id})
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{variant: table})|nil
---@return medusa.Error|nil
function ProductsVariants.retrieve(id, customHeaders) end

---@class medusa.Regions
local Regions = {}

---regions with their countries and providers (GET /store/regions)
---@param customHeaders? table<string,string>
---@return (medusa.Result|{regions: table})|nil
---@return medusa.Error|nil
function Regions.list(customHeaders) end

---a region; payment_providers lists what can pay in it (GET /store/regions/{id})
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{region: table})|nil
---@return medusa.Error|nil
function Regions.retrieve(id, customHeaders) end

---@class medusa.ReturnReasons
local ReturnReasons = {}

---return reasons (GET /store/return-reasons)
---@param customHeaders? table<string,string>
---@return (medusa.Result|{return_reasons: table})|nil
---@return medusa.Error|nil
function ReturnReasons.list(customHeaders) end

---a return reason by id (GET /store/return-reasons/{id})
---@param id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{return_reason: table})|nil
---@return medusa.Error|nil
function ReturnReasons.retrieve(id, customHeaders) end

---@class medusa.Returns
local Returns = {}

---a return of {order_id, items = {{item_id, quantity, reason_id?, note?}}, return_shipping?} (POST /store/returns)
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{return: table})|nil
---@return medusa.Error|nil
function Returns.create(payload, customHeaders) end

---@class medusa.ShippingOptions
local ShippingOptions = {}

---shipping options ({region_id?, product_ids?, is_return?}) (GET /store/shipping-options)
---@param query? table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{shipping_options: table})|nil
---@return medusa.Error|nil
function ShippingOptions.list(query, customHeaders) end

---the options a cart can ship with (GET /store/shipping-options/{cart_id})
---@param cart_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{shipping_options: table})|nil
---@return medusa.Error|nil
function ShippingOptions.listCartOptions(cart_id, customHeaders) end

---@class medusa.Swaps
local Swaps = {}

---a swap of {order_id, return_items, additional_items, return_shipping_option?} (POST /store/swaps)
---@param payload table
---@param customHeaders? table<string,string>
---@return (medusa.Result|{swap: table})|nil
---@return medusa.Error|nil
function Swaps.create(payload, customHeaders) end

---the swap of a cart (GET /store/swaps/{cart_id})
---@param cart_id string
---@param customHeaders? table<string,string>
---@return (medusa.Result|{swap: table})|nil
---@return medusa.Error|nil
function Swaps.retrieveByCartId(cart_id, customHeaders) end

-- END GENERATED

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
