/* contract.h: what every transport promises, written once: the defaults and limits of an
 * exchange, the failure types with their fixed messages, and the rule for a header that
 * cannot split a request. The libcurl transport (http.c) uses them here; core.contract
 * and core.header_problem hand the same values to Lua (init.lua's defaults,
 * medusa.limits, the request header checks and the cosocket transport), so no copy of
 * them exists to drift. */
#ifndef MEDUSA_CONTRACT_H
#define MEDUSA_CONTRACT_H

#include <stddef.h>
#include "compat.h"

/* X(C name, Lua name, value) */
#define MEDUSA_CONTRACT_NUMBERS(X)                                                        \
  X(DEFAULT_TIMEOUT_MS, default_timeout_ms, 30000L)                                        \
  X(DEFAULT_CONNECT_TIMEOUT_MS, default_connect_timeout_ms, 10000L)                        \
  X(DEFAULT_MAX_RESPONSE_BYTES, default_max_response_bytes, 32L * 1024 * 1024)             \
  /* Response heads larger than this are hostile. It stays below libcurl's own 300 KiB */ \
  /* total (7.88+), so a line under the line limit cannot pass that first. */             \
  X(MAX_RESPONSE_HEAD_BYTES, max_response_head_bytes, 192L * 1024)                         \
  /* libcurl's own limit on one response header line; the cosocket transport keeps it. */ \
  X(MAX_RESPONSE_LINE_BYTES, max_response_line_bytes, 100L * 1024)                         \
  /* The request line and headers together: Node's default --max-http-header-size, so  */ \
  /* the Medusa backend's. */                                                             \
  X(MAX_REQUEST_HEAD_BYTES, max_request_head_bytes, 16L * 1024)                            \
  /* A resource call's target alone, leaving 1 KiB of the head for the headers. */        \
  X(MAX_RESOURCE_TARGET_BYTES, max_resource_target_bytes, 15L * 1024)

#define MEDUSA_NUMBER_ENUM(cname, lname, value) MEDUSA_##cname = value,
enum { MEDUSA_CONTRACT_NUMBERS(MEDUSA_NUMBER_ENUM) MEDUSA_CONTRACT_NUMBERS_END };
#undef MEDUSA_NUMBER_ENUM

/* The failure types a transport reports (err.type), X(C name, Lua name); "cancelled" is
 * the scheduler's (a task stopped by task:cancel, a group timeout or close()). */
#define MEDUSA_FAILURE_TYPES(X) \
  X(NETWORK, "network")          \
  X(TIMEOUT, "timeout")          \
  X(TOO_LARGE, "too_large")      \
  X(TLS, "tls")                  \
  X(LOCAL, "local")              \
  X(CANCELLED, "cancelled")

#define MEDUSA_TYPE_CONST(cname, text) static const char MEDUSA_TYPE_##cname[] = text;
MEDUSA_FAILURE_TYPES(MEDUSA_TYPE_CONST)
#undef MEDUSA_TYPE_CONST

/* Messages that are the same whichever transport reports them, X(C name, Lua name, text);
 * BODY_TOO_LARGE takes the limit in bytes (a %ld). */
#define MEDUSA_FAILURE_MESSAGES(X)                                                           \
  X(MSG_HEAD_TOO_LARGE, head_too_large, "response head larger than 192 KiB")                 \
  X(MSG_LINE_TOO_LARGE, line_too_large, "response header line longer than libcurl accepts (100 KiB)") \
  X(MSG_BODY_TOO_LARGE, body_too_large, "response larger than maxResponseBytes (%ld bytes)") \
  X(MSG_RESEND_REFUSED, resend_refused,                                                      \
    "the reused connection failed before a response; libcurl's silent re-send was refused")  \
  X(MSG_HEAD_CUT, head_cut, "the response head was cut short before its end")

#define MEDUSA_MESSAGE_CONST(cname, lname, text) static const char MEDUSA_##cname[] = text;
MEDUSA_FAILURE_MESSAGES(MEDUSA_MESSAGE_CONST)
#undef MEDUSA_MESSAGE_CONST

/* NULL when name: value is a header that cannot split a request (name an RFC 9110 token,
 * value without CR, LF or NUL); else what is wrong with it. */
const char *medusa_header_problem(const char *name, size_t nlen, const char *value, size_t vlen);

/* Registers contract (a table of the numbers, types and messages) and header_problem. */
void medusa_open_contract(lua_State *L);

#endif
