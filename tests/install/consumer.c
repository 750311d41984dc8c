/* A tiny outside program: built against an installed libtradepipe, once
 * with pkg-config and once with find_package(tradepipe). */
#include <stdio.h>
#include <string.h>
#include <tradepipe.h>

int main(void)
{
    const char *in = "{\"symbol\":\"AAPL\",\"price\":187.23,\"volume\":1200}";
    tp_trade t;
    tp_error err;
    if (tp_record_decode(&t, tp_cursor_from_str(in), 0, &err) != TP_OK) {
        fprintf(stderr, "decode: %s\n", err.message);
        return 1;
    }
    char px[TP_PRICE_STR_MAX];
    tp_price_format(px, t.price_e8);
    printf("%s %s %lld (libtradepipe %s)\n", t.symbol, px, (long long)t.volume, tp_version());
    return strcmp(px, "187.23") == 0 && strcmp(tp_version(), TP_VERSION_STRING) == 0 ? 0 : 1;
}
