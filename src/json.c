/* json.c: the JSON <-> Lua codec (encode, decode) and the number formatter shared with
 * the query encoder. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

size_t medusa_format_double(double d, char *out) {
  char sci[40], digits[20];
  int prec, k = 0, n, exp10, i;
  size_t len = 0;
  const char *p;
  if (d == 0) { /* also -0, as JSON.stringify */
    out[0] = '0';
    out[1] = '\0';
    return 1;
  }
  if (d < 0) {
    out[len++] = '-';
    d = -d;
  }
  /* The shortest %e precision that reads back as the same double. */
  for (prec = 0; prec < 17; prec++) {
    snprintf(sci, sizeof sci, "%.*e", prec, d);
    if (strtod(sci, NULL) == d) break;
  }
  for (p = sci; *p && *p != 'e'; p++)
    if (*p >= '0' && *p <= '9') digits[k++] = *p;
  while (k > 1 && digits[k - 1] == '0') k--;
  exp10 = atoi(p + 1);
  n = exp10 + 1; /* where the decimal point goes, counted from the first digit */
  if (k <= n && n <= 21) {
    for (i = 0; i < k; i++) out[len++] = digits[i];
    for (i = k; i < n; i++) out[len++] = '0';
  } else if (0 < n && n <= 21) {
    for (i = 0; i < n; i++) out[len++] = digits[i];
    out[len++] = '.';
    for (i = n; i < k; i++) out[len++] = digits[i];
  } else if (-6 < n && n <= 0) {
    out[len++] = '0';
    out[len++] = '.';
    for (i = 0; i < -n; i++) out[len++] = '0';
    for (i = 0; i < k; i++) out[len++] = digits[i];
  } else {
    out[len++] = digits[0];
    if (k > 1) {
      out[len++] = '.';
      for (i = 1; i < k; i++) out[len++] = digits[i];
    }
    len += (size_t)sprintf(out + len, "e%c%d", exp10 >= 0 ? '+' : '-', exp10 >= 0 ? exp10 : -exp10);
  }
  out[len] = '\0';
  return len;
}

/* ---- encode / decode: to be written ---- */

void medusa_open_json(lua_State *L) {
  (void)L;
}
