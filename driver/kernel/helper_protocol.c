/* SPDX-License-Identifier: MIT */
#include "helper_protocol.h"

#include <string.h>
#include <sys/socket.h>

/* A cursor over an untrusted payload: every take checks what is left. */
struct reader
{
    const uint8_t *p;
    size_t left;
};

static int take(struct reader *r, void *out, size_t size)
{
    if (r->left < size)
        return 0;
    memcpy(out, r->p, size);
    r->p += size;
    r->left -= size;
    return 1;
}

struct writer
{
    uint8_t *p;
    size_t size;
};

static void put(struct writer *w, const void *data, size_t size)
{
    memcpy(w->p + w->size, data, size);
    w->size += size;
}

static void put_u32(struct writer *w, uint32_t value) { put(w, &value, sizeof(value)); }

/* The header of the first message, if it is all there. */
static DWORD frame(const void *buf, size_t n, struct wt_helper_header *h, struct reader *payload, size_t *consumed)
{
    if (n < sizeof(*h))
        return ERROR_MORE_DATA;
    memcpy(h, buf, sizeof(*h));
    if (h->magic != WT_HELPER_MAGIC || h->length > WT_HELPER_MAX_PAYLOAD)
        return ERROR_INVALID_DATA;
    if (n - sizeof(*h) < h->length)
        return ERROR_MORE_DATA;
    payload->p = (const uint8_t *)buf + sizeof(*h);
    payload->left = h->length;
    *consumed = sizeof(*h) + h->length;
    if (h->version != WT_HELPER_VERSION)
        return ERROR_NOT_SUPPORTED;
    return ERROR_SUCCESS;
}

static int take_address(struct reader *r, WINTUN_ADDRESS *address)
{
    uint16_t family;
    uint8_t prefix, zero, bytes[16];
    if (!take(r, &family, 2) || !take(r, &prefix, 1) || !take(r, &zero, 1) || !take(r, bytes, 16) || zero)
        return 0;
    if (family == AF_INET) {
        if (prefix > 32)
            return 0;
        for (int i = 4; i < 16; ++i)
            if (bytes[i])
                return 0;
    } else if (family != AF_INET6 || prefix > 128) {
        return 0;
    }
    memset(address, 0, sizeof(*address));
    address->Family = family;
    address->PrefixLength = prefix;
    memcpy(address->Address, bytes, 16);
    return 1;
}

static void put_address(struct writer *w, const WINTUN_ADDRESS *address)
{
    uint16_t family = address->Family;
    uint8_t prefix = address->PrefixLength, zero = 0, bytes[16] = { 0 };
    memcpy(bytes, address->Address, address->Family == AF_INET ? 4 : 16);
    put(w, &family, 2);
    put(w, &prefix, 1);
    put(w, &zero, 1);
    put(w, bytes, 16);
}

/* A string of len bytes, 1..max, without NUL, into out (room: max + 1). */
static int take_text(struct reader *r, uint8_t len, size_t max, char *out)
{
    if (!len || len > max || !take(r, out, len) || memchr(out, 0, len))
        return 0;
    out[len] = 0;
    return 1;
}

DWORD wt_helper_parse_request(const void *buf, size_t n, struct wt_helper_request *req, size_t *consumed)
{
    struct wt_helper_header h = { 0 };
    struct reader r = { 0 };
    memset(req, 0, sizeof(*req));
    DWORD err = frame(buf, n, &h, &r, consumed);
    req->type = h.type;
    req->adapter = h.adapter;
    if (err)
        return err;
    switch (h.type) {
    case WT_HELPER_CREATE: {
        uint8_t name_len, type_len;
        if (h.adapter || !take(&r, req->create.guid, 16) || !take(&r, &name_len, 1) || !take(&r, &type_len, 1) ||
            !take_text(&r, name_len, 127, req->create.name) || !take_text(&r, type_len, 128, req->create.tunnel_type))
            return ERROR_INVALID_DATA;
        /* flags only when not zero: one encoding per request (found by fuzz_helper_request) */
        if (r.left && (!take(&r, &req->create.flags, 4) || !req->create.flags || (req->create.flags & ~1u)))
            return ERROR_INVALID_DATA;
        break;
    }
    case WT_HELPER_SET_MTU:
        if (!take(&r, &req->mtu, 4) || req->mtu < 68 || req->mtu > 65535)
            return ERROR_INVALID_DATA;
        break;
    case WT_HELPER_SET_UP:
        if (!take(&r, &req->up, 4) || req->up > 1)
            return ERROR_INVALID_DATA;
        break;
    case WT_HELPER_ADD_ADDRESS:
    case WT_HELPER_DELETE_ADDRESS:
        if (!take_address(&r, &req->address))
            return ERROR_INVALID_DATA;
        break;
    case WT_HELPER_QUERY:
    case WT_HELPER_CLOSE:
        break;
    default:
        return ERROR_INVALID_DATA;
    }
    return r.left ? ERROR_INVALID_DATA : ERROR_SUCCESS; /* nothing may follow the fields */
}

size_t wt_helper_encode_request(const struct wt_helper_request *req, uint8_t *out)
{
    struct writer w = { out, sizeof(struct wt_helper_header) };
    switch (req->type) {
    case WT_HELPER_CREATE: {
        uint8_t name_len = (uint8_t)strnlen(req->create.name, 127);
        uint8_t type_len = (uint8_t)strnlen(req->create.tunnel_type, 128);
        put(&w, req->create.guid, 16);
        put(&w, &name_len, 1);
        put(&w, &type_len, 1);
        put(&w, req->create.name, name_len);
        put(&w, req->create.tunnel_type, type_len);
        if (req->create.flags)
            put_u32(&w, req->create.flags);
        break;
    }
    case WT_HELPER_SET_MTU:
        put_u32(&w, req->mtu);
        break;
    case WT_HELPER_SET_UP:
        put_u32(&w, req->up);
        break;
    case WT_HELPER_ADD_ADDRESS:
    case WT_HELPER_DELETE_ADDRESS:
        put_address(&w, &req->address);
        break;
    default:
        break;
    }
    struct wt_helper_header h = { WT_HELPER_MAGIC, WT_HELPER_VERSION, req->type, req->adapter,
                                  (uint32_t)(w.size - sizeof(h)) };
    memcpy(out, &h, sizeof(h));
    return w.size;
}

DWORD wt_helper_parse_reply(const void *buf, size_t n, struct wt_helper_reply *reply, size_t *consumed)
{
    struct wt_helper_header h = { 0 };
    struct reader r = { 0 };
    memset(reply, 0, sizeof(*reply));
    DWORD err = frame(buf, n, &h, &r, consumed);
    if (err)
        return err;
    if (!(h.type & WT_HELPER_REPLY))
        return ERROR_INVALID_DATA;
    reply->type = h.type & ~WT_HELPER_REPLY;
    reply->adapter = h.adapter;
    uint16_t text_len;
    if (!take(&r, &reply->status, 4) || !take(&r, &text_len, 2) || text_len > WT_HELPER_MAX_TEXT ||
        !take(&r, reply->text, text_len))
        return ERROR_INVALID_DATA;
    reply->text[text_len] = 0;
    if (reply->status)
        return r.left ? ERROR_INVALID_DATA : ERROR_SUCCESS;
    if (reply->type == WT_HELPER_CREATE || reply->type == WT_HELPER_QUERY) {
        if (reply->type == WT_HELPER_QUERY && (!take(&r, &reply->mtu, 4) || !take(&r, &reply->up, 4)))
            return ERROR_INVALID_DATA;
        if (!take(&r, &reply->ifindex, 4) || !take(&r, reply->ifname, 16) || !memchr(reply->ifname, 0, 16))
            return ERROR_INVALID_DATA;
        if (reply->type == WT_HELPER_QUERY) {
            if (!take(&r, &reply->count, 4) || reply->count > WT_HELPER_MAX_ADDRESSES)
                return ERROR_INVALID_DATA;
            for (uint32_t i = 0; i < reply->count; ++i)
                if (!take_address(&r, &reply->addresses[i]))
                    return ERROR_INVALID_DATA;
        }
    }
    return r.left ? ERROR_INVALID_DATA : ERROR_SUCCESS;
}

size_t wt_helper_encode_reply(const struct wt_helper_reply *reply, uint8_t *out)
{
    struct writer w = { out, sizeof(struct wt_helper_header) };
    uint16_t text_len = (uint16_t)strnlen(reply->text, WT_HELPER_MAX_TEXT);
    put_u32(&w, reply->status);
    put(&w, &text_len, 2);
    put(&w, reply->text, text_len);
    if (!reply->status && (reply->type == WT_HELPER_CREATE || reply->type == WT_HELPER_QUERY)) {
        if (reply->type == WT_HELPER_QUERY) {
            put_u32(&w, reply->mtu);
            put_u32(&w, reply->up);
        }
        put_u32(&w, reply->ifindex);
        char ifname[16] = { 0 };
        memcpy(ifname, reply->ifname, strnlen(reply->ifname, 15));
        put(&w, ifname, 16);
        if (reply->type == WT_HELPER_QUERY) {
            uint32_t count = reply->count > WT_HELPER_MAX_ADDRESSES ? WT_HELPER_MAX_ADDRESSES : reply->count;
            put_u32(&w, count);
            for (uint32_t i = 0; i < count; ++i)
                put_address(&w, &reply->addresses[i]);
        }
    }
    struct wt_helper_header h = { WT_HELPER_MAGIC, WT_HELPER_VERSION, (uint16_t)(reply->type | WT_HELPER_REPLY),
                                  reply->adapter, (uint32_t)(w.size - sizeof(h)) };
    memcpy(out, &h, sizeof(h));
    return w.size;
}
