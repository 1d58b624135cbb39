/* SPDX-License-Identifier: MIT
 *
 * libFuzzer: wintun-helper's attack surface, the request parser (driver/kernel/helper_protocol.c), over
 * whatever a client may send on its connection: messages one after another, as the helper's loop
 * takes them. Every request it accepts must encode back to the bytes it came from, and reparse to
 * the same request. With the first byte odd, the input is a reply instead (what the client side
 * parses). The input is copied to a heap block of its exact size: a read past it is an ASan
 * report.
 */
#include "helper_protocol.h"

#include <stdlib.h>
#include <string.h>

static void check_request_round_trip(const uint8_t *message, size_t size, const struct wt_helper_request *req)
{
    uint8_t encoded[sizeof(struct wt_helper_header) + WT_HELPER_MAX_PAYLOAD];
    size_t n = wt_helper_encode_request(req, encoded);
    if (n != size || memcmp(encoded, message, size))
        abort(); /* accepted, but not what an encoder makes: two readings of one message */
    struct wt_helper_request again;
    size_t consumed;
    if (wt_helper_parse_request(encoded, n, &again, &consumed) || consumed != n || memcmp(&again, req, sizeof(again)))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t *copy = malloc(size - 1 ? size - 1 : 1);
    memcpy(copy, data + 1, size - 1);
    size_t offset = 0, left = size - 1;
    while (left) {
        size_t consumed = 0;
        DWORD err;
        if (data[0] & 1) {
            struct wt_helper_reply reply;
            err = wt_helper_parse_reply(copy + offset, left, &reply, &consumed);
        } else {
            struct wt_helper_request req;
            err = wt_helper_parse_request(copy + offset, left, &req, &consumed);
            if (!err)
                check_request_round_trip(copy + offset, consumed, &req);
        }
        if (err && err != ERROR_NOT_SUPPORTED)
            break; /* more data, or malformed: the connection ends */
        if (!consumed || consumed > left)
            abort();
        offset += consumed;
        left -= consumed;
    }
    free(copy);
    return 0;
}
