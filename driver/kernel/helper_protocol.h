/* SPDX-License-Identifier: MIT
 *
 * The wintun-helper protocol: how a process without CAP_NET_ADMIN gets kernel adapters from the
 * privileged helper (helper/wintun-helper.c), over a UNIX stream socket.
 *
 * Every message is a 16-byte header and a payload of at most WT_HELPER_MAX_PAYLOAD bytes, in the
 * host's byte order (both ends are on one machine):
 *
 *   u32 magic "WTHP" | u16 version (1) | u16 type | u32 adapter | u32 length of the payload
 *
 * A request names an adapter by the id the helper gave it on that same connection (0 for
 * CREATE). Payloads:
 *   CREATE          u8 guid[16], u8 name length, u8 tunnel type length, the name, the tunnel type
 *                   (UTF-8, no NUL; 1..127 and 1..128 bytes), then u32 flags if they are not 0
 *                   (bit 0: the TUN with IFF_VNET_HDR; no other bit may be set)
 *   SET_MTU         u32 mtu (68..65535)
 *   SET_UP          u32 up (0 or 1)
 *   ADD_ADDRESS,
 *   DELETE_ADDRESS  u16 family (AF_INET, AF_INET6), u8 prefix length, u8 0, u8 address[16]
 *                   (IPv4: the first 4 bytes, the rest zero)
 *   QUERY, CLOSE    nothing
 *
 * Each request gets one reply, of type (request type | WT_HELPER_REPLY), carrying
 *   u32 status (a Win32 code), u16 text length, text (UTF-8, why it failed; at most 255 bytes)
 * and then, on success: for CREATE u32 ifindex, char ifname[16], and the TUN descriptor as
 * SCM_RIGHTS (the adapter id is in the header); for QUERY u32 mtu, u32 up, u32 ifindex,
 * char ifname[16], u32 count, count addresses as above (at most WT_HELPER_MAX_ADDRESSES).
 *
 * Anything malformed (a bad magic, a length over the limit, a payload of the wrong size, a field
 * out of range) ends the connection: the helper never guesses where the next message starts.
 */
#ifndef WINTUN_HELPER_PROTOCOL_H
#define WINTUN_HELPER_PROTOCOL_H

#include "wintun_ext.h"

#include <stddef.h>
#include <stdint.h>

#define WT_HELPER_MAGIC 0x50485457u /* "WTHP" */
#define WT_HELPER_VERSION 1
#define WT_HELPER_MAX_PAYLOAD 1024
#define WT_HELPER_MAX_TEXT 255
#define WT_HELPER_MAX_ADDRESSES 32
#define WT_HELPER_ADDRESS_SIZE 20
#define WT_HELPER_DEFAULT_SOCKET "/run/wintun/helper.sock"
#define WT_HELPER_DEFAULT_GROUP "wintun"

enum wt_helper_type
{
    WT_HELPER_CREATE = 1,
    WT_HELPER_SET_MTU = 2,
    WT_HELPER_ADD_ADDRESS = 3,
    WT_HELPER_DELETE_ADDRESS = 4,
    WT_HELPER_SET_UP = 5,
    WT_HELPER_QUERY = 6,
    WT_HELPER_CLOSE = 7,
    WT_HELPER_REPLY = 0x8000,
};

struct wt_helper_header
{
    uint32_t magic;
    uint16_t version;
    uint16_t type;
    uint32_t adapter;
    uint32_t length;
};

struct wt_helper_request
{
    uint16_t type;
    uint32_t adapter;
    union
    {
        struct
        {
            uint8_t guid[16];
            char name[128];        /* NUL-terminated */
            char tunnel_type[129]; /* NUL-terminated */
            uint32_t flags;        /* WT_TUN_VNET_HDR (tun_open.h) */
        } create;
        uint32_t mtu;
        uint32_t up;
        WINTUN_ADDRESS address;
    };
};

struct wt_helper_reply
{
    uint16_t type; /* without WT_HELPER_REPLY */
    uint32_t adapter;
    uint32_t status;
    char text[WT_HELPER_MAX_TEXT + 1];
    uint32_t mtu, up, ifindex;
    char ifname[16];
    uint32_t count;
    WINTUN_ADDRESS addresses[WT_HELPER_MAX_ADDRESSES];
};

/* The first message in buf[0..n): ERROR_SUCCESS with *consumed its size; ERROR_MORE_DATA if it is
 * not all there yet; ERROR_NOT_SUPPORTED for another protocol version (*consumed is then the
 * header, req->type the request's, so that the reply can say so); ERROR_INVALID_DATA if malformed
 * (the connection ends). buf is untrusted: every length is checked. */
DWORD wt_helper_parse_request(const void *buf, size_t n, struct wt_helper_request *req, size_t *consumed);
/* As wt_helper_parse_request, for a reply. */
DWORD wt_helper_parse_reply(const void *buf, size_t n, struct wt_helper_reply *reply, size_t *consumed);

/* A request's wire form into out (room: at least sizeof(struct wt_helper_header) +
 * WT_HELPER_MAX_PAYLOAD); returns its size. */
size_t wt_helper_encode_request(const struct wt_helper_request *req, uint8_t *out);
/* A reply's wire form into out (same room); returns its size. */
size_t wt_helper_encode_reply(const struct wt_helper_reply *reply, uint8_t *out);

#endif
