/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tun_helper.h"
#include "logger.h"
#include "platform.h"

#include <errno.h>
#include <linux/capability.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

/* How long the helper may take to answer one request. */
#define REPLY_TIMEOUT_MS 10000

const char *wt_helper_socket_path(void)
{
    const char *path = getenv("WINTUN_HELPER_SOCKET");
    return path && *path ? path : WT_HELPER_DEFAULT_SOCKET;
}

static int has_net_admin(void)
{
    struct __user_cap_header_struct header = { .version = _LINUX_CAPABILITY_VERSION_3 };
    struct __user_cap_data_struct data[2];
    if (syscall(SYS_capget, &header, data) < 0)
        return 1; /* unknown: as before, the kernel decides */
    return !!(data[CAP_NET_ADMIN / 32].effective & (1u << (CAP_NET_ADMIN % 32)));
}

int wt_helper_wanted(const char *netns)
{
    struct stat st;
    if ((netns && *netns) || has_net_admin())
        return 0;
    return stat(wt_helper_socket_path(), &st) == 0 && S_ISSOCK(st.st_mode);
}

static DWORD helper_connect(int *out)
{
    const char *path = wt_helper_socket_path();
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(address.sun_path))
        return wt_log_error(ERROR_INVALID_NAME, "WINTUN_HELPER_SOCKET is longer than a socket path can be");
    memcpy(address.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return wt_log_errno(errno, "Failed to make a socket for wintun-helper");
    if (connect(fd, (struct sockaddr *)&address, sizeof(address)) < 0) {
        int err = errno;
        close(fd);
        if (err == ECONNREFUSED || err == ENOENT)
            return wt_log_errno(err, "wintun-helper is not running at %s", path);
        return wt_log_errno(err, "Failed to reach wintun-helper at %s", path);
    }
    *out = fd;
    return ERROR_SUCCESS;
}

/* Reads one reply, and the descriptor that may come with it (fd_out, or closed if NULL). */
static DWORD read_reply(int fd, struct wt_helper_reply *reply, int *fd_out)
{
    uint8_t buffer[sizeof(struct wt_helper_header) + WT_HELPER_MAX_PAYLOAD];
    size_t have = 0, consumed;
    int received_fd = -1;
    DWORD err;
    while ((err = wt_helper_parse_reply(buffer, have, reply, &consumed)) == ERROR_MORE_DATA) {
        struct pollfd p = { .fd = fd, .events = POLLIN };
        int ready = poll(&p, 1, REPLY_TIMEOUT_MS);
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0) {
            err = wt_log_error(ERROR_TIMEOUT, "wintun-helper did not answer");
            break;
        }
        char control[CMSG_SPACE(sizeof(int))];
        struct iovec iov = { .iov_base = buffer + have, .iov_len = sizeof(buffer) - have };
        struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
        ssize_t n = recvmsg(fd, &msg, MSG_CMSG_CLOEXEC);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            err = n < 0 ? wt_log_errno(errno, "Failed to read wintun-helper's reply")
                        : wt_log_error(ERROR_HANDLE_EOF, "wintun-helper closed the connection");
            break;
        }
        for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
            if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS && c->cmsg_len == CMSG_LEN(sizeof(int)) &&
                received_fd < 0)
                memcpy(&received_fd, CMSG_DATA(c), sizeof(int));
        have += (size_t)n;
    }
    if (err == ERROR_INVALID_DATA || err == ERROR_NOT_SUPPORTED)
        err = wt_log_error(ERROR_INVALID_DATA, "wintun-helper's reply is malformed, or of another protocol version");
    if (fd_out && !err)
        *fd_out = received_fd;
    else if (received_fd >= 0)
        close(received_fd);
    return err;
}

static DWORD transact(int fd, struct wt_helper_request *req, struct wt_helper_reply *reply, int *fd_out)
{
    uint8_t message[sizeof(struct wt_helper_header) + WT_HELPER_MAX_PAYLOAD];
    size_t size = wt_helper_encode_request(req, message);
    ssize_t n;
    do
        n = send(fd, message, size, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)size)
        return wt_log_errno(n < 0 ? errno : EIO, "Failed to send a request to wintun-helper");
    DWORD err = read_reply(fd, reply, fd_out);
    if (err)
        return err;
    if (reply->type != req->type)
        return wt_log_error(ERROR_INVALID_DATA, "wintun-helper answered another request");
    if (reply->status)
        return wt_log_error(reply->status, "wintun-helper: %s", reply->text[0] ? reply->text : "refused");
    return ERROR_SUCCESS;
}

DWORD wt_helper_create(const char *name, const char *tunnel_type, const GUID *guid, unsigned flags,
                       struct wt_helper_link *link, struct wt_tun_handles *out)
{
    struct wt_helper_request req = { .type = WT_HELPER_CREATE, .create.flags = flags };
    if (strlen(name) > 127 || strlen(tunnel_type) > 128)
        return wt_log_error(ERROR_INVALID_NAME, "\"%s\" is too long for wintun-helper", name);
    memcpy(req.create.guid, guid, sizeof(req.create.guid));
    memcpy(req.create.name, name, strlen(name) + 1);
    memcpy(req.create.tunnel_type, tunnel_type, strlen(tunnel_type) + 1);
    int fd = -1;
    DWORD err = helper_connect(&fd);
    if (err)
        return err;
    struct wt_helper_reply reply;
    int tun_fd = -1;
    if ((err = transact(fd, &req, &reply, &tun_fd))) {
        close(fd);
        return err;
    }
    if (tun_fd < 0) {
        close(fd);
        return wt_log_error(ERROR_INVALID_DATA, "wintun-helper sent no TUN descriptor");
    }
    link->fd = fd;
    link->adapter = reply.adapter;
    *out = (struct wt_tun_handles){ .tun_fd = tun_fd, .nl_fd = -1, .netns_fd = -1, .userns_fd = -1,
                                    .ifindex = reply.ifindex, .vnet_hdr = (flags & WT_TUN_VNET_HDR) != 0 };
    wt_log(WINTUN_LOG_INFO, "Adapter \"%s\" is interface %s, made by wintun-helper", name, reply.ifname);
    return ERROR_SUCCESS;
}

DWORD wt_helper_call(struct wt_helper_link *link, struct wt_helper_request *req, struct wt_helper_reply *reply)
{
    if (link->fd < 0)
        return ERROR_DEV_NOT_EXIST;
    req->adapter = link->adapter;
    return transact(link->fd, req, reply, NULL);
}

void wt_helper_close(struct wt_helper_link *link)
{
    if (link->fd >= 0)
        close(link->fd);
    link->fd = -1;
}
