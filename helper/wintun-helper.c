/* SPDX-License-Identifier: MIT
 *
 * wintun-helper: makes and configures kernel adapters for users without CAP_NET_ADMIN, and
 * hands them the TUN descriptor (driver/kernel/helper_protocol.h). Only this program is privileged.
 *
 *   wintun-helper [--socket PATH] [--group GROUP] [--config PATH]
 *
 * Defaults: /run/wintun/helper.sock, group "wintun" (a name or a number), /etc/wintun/helper.conf
 * (helper/policy.h). Under systemd socket activation (LISTEN_FDS) it serves the socket it is given.
 *
 * One thread, one poll() loop, no shell and nothing run on a client's behalf. A client is admitted
 * if SO_PEERCRED says it is root or a member of the group. Each request acts only on the adapters
 * made over the same connection; when the connection closes, for any reason, they are removed.
 * A malformed message ends its connection and nothing else. Every action is logged on stderr
 * (the journal, under systemd) with the user.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "policy.h"
#include "helper_protocol.h"
#include "netlink.h"
#include "tun_open.h"
#include "logger.h"
#include "platform.h"

#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define MAX_CLIENTS 128
#define MAX_ADAPTERS 512
/* Connections one user (other than root) may hold at once: no user fills every slot. */
#define MAX_CLIENTS_PER_USER 16

struct client
{
    int fd; /* -1: free slot */
    struct ucred cred;
    int admitted;
    char who[96]; /* "uid 1000 (alice) pid 42", for the log */
    uint8_t buffer[2 * (sizeof(struct wt_helper_header) + WT_HELPER_MAX_PAYLOAD)];
    size_t have;
    uint32_t next_id;
};

struct adapter
{
    int client; /* -1: free slot */
    uint32_t id;
    uid_t uid;
    int tun_fd;
    unsigned ifindex;
    char name[128];
};

static struct client clients[MAX_CLIENTS];
static struct adapter adapters[MAX_ADAPTERS];
static struct wt_policy policy;
static gid_t group_id;
static char group_name[64];
static int netlink = -1;
static volatile sig_atomic_t stopping;

static void say(const char *fmt, ...) WT_PRINTF(1, 2);
/* One log line. What a client sent (names, tunnel types) can hold any byte but NUL: control
 * characters become '?', so that no client can forge or break a line. */
static void say(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    for (unsigned char *p = (unsigned char *)line; *p; ++p)
        if (*p < 0x20 || *p == 0x7F)
            *p = '?';
    fprintf(stderr, "wintun-helper: %s\n", line);
}

static void CALLBACK library_log(WINTUN_LOGGER_LEVEL level, DWORD64 timestamp, LPCWSTR message)
{
    (void)timestamp;
    char text[WT_LOG_MAX_CHARS * 4];
    if (wt_wide_to_utf8(message, text, sizeof(text)) < 0)
        return;
    say("%s%s", level == WINTUN_LOG_ERR ? "error: " : level == WINTUN_LOG_WARN ? "warning: " : "", text);
}

/* ---- adapters ---- */

static unsigned adapters_of_user(uid_t uid)
{
    unsigned n = 0;
    for (int i = 0; i < MAX_ADAPTERS; ++i)
        n += adapters[i].client >= 0 && adapters[i].uid == uid;
    return n;
}

static struct adapter *find_adapter(int client, uint32_t id)
{
    for (int i = 0; i < MAX_ADAPTERS; ++i)
        if (adapters[i].client == client && adapters[i].id == id)
            return &adapters[i];
    return NULL;
}

/* The interface goes even if the client still holds a copy of its descriptor. */
static void remove_adapter(struct adapter *a, const char *why)
{
    wt_nl_delete_link(netlink, a->ifindex);
    close(a->tun_fd);
    say("%s: removed adapter \"%s\" (%s)", clients[a->client].who, a->name, why);
    a->client = -1;
}

/* ---- replies ---- */

static void set_text(struct wt_helper_reply *reply, const char *fmt, ...) WT_PRINTF(2, 3);
static void set_text(struct wt_helper_reply *reply, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reply->text, sizeof(reply->text), fmt, ap);
    va_end(ap);
}

/* A failure of the library: its code, and its last ERR line as the reason. */
static void set_failure(struct wt_helper_reply *reply, DWORD err)
{
    reply->status = err;
    const char *why = wt_log_last_error();
    set_text(reply, "%s", why[0] ? why : "failed");
    wt_log_clear_last();
}

static int send_reply(struct client *c, const struct wt_helper_reply *reply, int fd)
{
    uint8_t message[sizeof(struct wt_helper_header) + WT_HELPER_MAX_PAYLOAD];
    size_t size = wt_helper_encode_reply(reply, message);
    /* Never blocks: a client that does not read its replies is dropped. */
    return wt_send_with_fds(c->fd, message, size, &fd, fd >= 0 ? 1 : 0, MSG_DONTWAIT) == (ssize_t)size ? 0 : -1;
}

/* ---- requests ---- */

static void address_text(const WINTUN_ADDRESS *a, char *out, size_t size)
{
    char text[INET6_ADDRSTRLEN] = "?";
    inet_ntop(a->Family, a->Address, text, sizeof(text));
    snprintf(out, size, "%s/%u", text, a->PrefixLength);
}

static void create(int index, const struct wt_helper_request *req, struct wt_helper_reply *reply, int *fd_out)
{
    struct client *c = &clients[index];
    if (adapters_of_user(c->cred.uid) >= policy.max_adapters) {
        reply->status = ERROR_NOT_ENOUGH_QUOTA;
        set_text(reply, "the limit of %u adapters for a user is reached", policy.max_adapters);
        return;
    }
    struct adapter *a = NULL;
    for (int i = 0; i < MAX_ADAPTERS && !a; ++i)
        if (adapters[i].client < 0)
            a = &adapters[i];
    if (!a) {
        reply->status = ERROR_NOT_ENOUGH_QUOTA;
        set_text(reply, "the helper holds as many adapters as it can (%d)", MAX_ADAPTERS);
        return;
    }
    struct wt_tun_handles h;
    DWORD err = wt_tun_create_adapter(req->create.name, NULL, req->create.flags, &h);
    if (err) {
        set_failure(reply, err);
        say("%s: refused adapter \"%s\": %s", c->who, req->create.name, reply->text);
        return;
    }
    GUID guid;
    memcpy(&guid, req->create.guid, sizeof(guid));
    wt_tun_mark_adapter(h.nl_fd, h.ifindex, &guid, req->create.tunnel_type);
    close(h.nl_fd); /* configuration goes through the helper's own socket */
    *a = (struct adapter){ .client = index, .id = ++c->next_id, .uid = c->cred.uid, .tun_fd = h.tun_fd,
                           .ifindex = h.ifindex };
    memcpy(a->name, req->create.name, sizeof(a->name));
    reply->adapter = a->id;
    reply->ifindex = h.ifindex;
    wt_tun_ifname(req->create.name, reply->ifname);
    *fd_out = h.tun_fd;
    say("%s: created adapter \"%s\" (interface %s, index %u, tunnel type \"%s\")", c->who, a->name, reply->ifname,
        h.ifindex, req->create.tunnel_type);
}

static void query(struct adapter *a, struct wt_helper_reply *reply)
{
    BOOL up = FALSE;
    DWORD err = wt_nl_get_link(netlink, a->ifindex, &reply->mtu, &up);
    reply->up = up ? 1 : 0;
    if (!err)
        err = wt_nl_get_ifname(netlink, a->ifindex, reply->ifname);
    DWORD count = WT_HELPER_MAX_ADDRESSES;
    if (!err && (err = wt_nl_get_addresses(netlink, a->ifindex, reply->addresses, &count)) == ERROR_INSUFFICIENT_BUFFER)
        err = ERROR_SUCCESS; /* the first WT_HELPER_MAX_ADDRESSES */
    if (err) {
        set_failure(reply, err);
        return;
    }
    reply->count = count > WT_HELPER_MAX_ADDRESSES ? WT_HELPER_MAX_ADDRESSES : count;
    reply->ifindex = a->ifindex;
}

static void configure(int index, const struct wt_helper_request *req, struct wt_helper_reply *reply)
{
    struct client *c = &clients[index];
    struct adapter *a = find_adapter(index, req->adapter);
    if (!a) {
        reply->status = ERROR_NOT_FOUND;
        set_text(reply, "no adapter %u was made over this connection", (unsigned)req->adapter);
        return;
    }
    char text[64];
    DWORD err = ERROR_SUCCESS;
    switch (req->type) {
    case WT_HELPER_SET_MTU:
        err = wt_nl_set_link(netlink, a->ifindex, req->mtu, -1);
        if (!err)
            say("%s: adapter \"%s\": MTU %u", c->who, a->name, (unsigned)req->mtu);
        break;
    case WT_HELPER_SET_UP:
        err = wt_nl_set_link(netlink, a->ifindex, 0, (int)req->up);
        if (!err)
            say("%s: adapter \"%s\": %s", c->who, a->name, req->up ? "up" : "down");
        break;
    case WT_HELPER_ADD_ADDRESS:
        address_text(&req->address, text, sizeof(text));
        if (!wt_policy_allows(&policy, &req->address)) {
            char ranges[200];
            wt_policy_describe(&policy, ranges, sizeof(ranges));
            reply->status = ERROR_ACCESS_DENIED;
            set_text(reply, "address %s is outside the ranges users may take (%s)", text, ranges);
            say("%s: adapter \"%s\": refused address %s", c->who, a->name, text);
            return;
        }
        err = wt_nl_add_address(netlink, a->ifindex, &req->address);
        if (!err)
            say("%s: adapter \"%s\": added address %s", c->who, a->name, text);
        break;
    case WT_HELPER_DELETE_ADDRESS:
        address_text(&req->address, text, sizeof(text));
        err = wt_nl_delete_address(netlink, a->ifindex, &req->address);
        if (!err)
            say("%s: adapter \"%s\": removed address %s", c->who, a->name, text);
        break;
    case WT_HELPER_QUERY:
        query(a, reply);
        return;
    case WT_HELPER_CLOSE:
        remove_adapter(a, "closed");
        return;
    }
    if (err)
        set_failure(reply, err);
}

/* ---- connections ---- */

static void drop_client(int index, const char *why)
{
    struct client *c = &clients[index];
    for (int i = 0; i < MAX_ADAPTERS; ++i)
        if (adapters[i].client == index)
            remove_adapter(&adapters[i], why);
    say("%s: disconnected (%s)", c->who, why);
    close(c->fd);
    c->fd = -1;
}

/* Root, or the group as the peer's primary or supplementary group (SO_PEERGROUPS, Linux 4.13). */
static int is_member(int fd, const struct ucred *cred)
{
    if (cred->uid == 0 || cred->gid == group_id)
        return 1;
    /* Most users have a few groups: a small array first, the size the kernel asks for if not. */
    gid_t few[64], *groups = few;
    socklen_t size = sizeof(few);
    int rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &size);
    if (rc < 0 && errno == ERANGE && (groups = malloc(size)))
        rc = getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &size);
    int member = 0;
    for (size_t i = 0; rc == 0 && i < size / sizeof(gid_t) && !member; ++i)
        member = groups[i] == group_id;
    if (groups != few)
        free(groups);
    return member;
}

static void accept_client(int listener)
{
    int fd = accept4(listener, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0)
        return;
    int index = -1;
    for (int i = 0; i < MAX_CLIENTS && index < 0; ++i)
        if (clients[i].fd < 0)
            index = i;
    struct ucred cred;
    socklen_t size = sizeof(cred);
    if (index < 0 || getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &size) < 0) {
        say("refused a connection: %s", index < 0 ? "too many clients" : "no credentials");
        close(fd);
        return;
    }
    unsigned same_user = 0;
    for (int i = 0; i < MAX_CLIENTS; ++i)
        same_user += clients[i].fd >= 0 && clients[i].cred.uid == cred.uid;
    if (cred.uid != 0 && same_user >= MAX_CLIENTS_PER_USER) {
        say("refused a connection from uid %u: it holds %u already", (unsigned)cred.uid, same_user);
        close(fd);
        return;
    }
    struct client *c = &clients[index];
    memset(c, 0, sizeof(*c));
    c->fd = fd;
    c->cred = cred;
    struct passwd *pw = getpwuid(cred.uid);
    snprintf(c->who, sizeof(c->who), "uid %u (%s) pid %d", (unsigned)cred.uid, pw ? pw->pw_name : "?", (int)cred.pid);
    c->admitted = is_member(fd, &cred);
    say("%s: connected%s", c->who, c->admitted ? "" : ", not a member of the group: refused");
}

/* Serves what the client sent; 0 to go on, -1 when the connection must end. */
static int serve(int index)
{
    struct client *c = &clients[index];
    ssize_t n = recv(c->fd, c->buffer + c->have, sizeof(c->buffer) - c->have, 0);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        drop_client(index, n < 0 ? "read error" : "connection closed");
        return -1;
    }
    c->have += (size_t)n;
    for (;;) {
        struct wt_helper_request req;
        size_t consumed = 0;
        DWORD err = wt_helper_parse_request(c->buffer, c->have, &req, &consumed);
        if (err == ERROR_MORE_DATA)
            return 0; /* the buffer holds two messages of the largest size: never full here */
        if (err == ERROR_INVALID_DATA) {
            drop_client(index, "malformed request");
            return -1;
        }
        struct wt_helper_reply reply = { .type = req.type, .adapter = req.adapter };
        int fd = -1, last = 0;
        if (err == ERROR_NOT_SUPPORTED) {
            reply.status = err;
            set_text(&reply, "this helper speaks protocol version %d only", WT_HELPER_VERSION);
            last = 1;
        } else if (!c->admitted) {
            reply.status = ERROR_ACCESS_DENIED;
            set_text(&reply, "user %u is not a member of group \"%s\" (gid %u), which may use wintun-helper",
                     (unsigned)c->cred.uid, group_name, (unsigned)group_id);
            last = 1;
        } else if (req.type == WT_HELPER_CREATE) {
            create(index, &req, &reply, &fd);
        } else {
            configure(index, &req, &reply);
        }
        if (send_reply(c, &reply, fd) < 0 || last) {
            drop_client(index, last ? reply.text : "does not read its replies");
            return -1;
        }
        memmove(c->buffer, c->buffer + consumed, c->have - consumed);
        c->have -= consumed;
    }
}

/* ---- start-up ---- */

static int listen_on(const char *path)
{
    const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");
    if (fds && pid && atoi(pid) == getpid() && atoi(fds) >= 1)
        return 3; /* systemd socket activation: SD_LISTEN_FDS_START */
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(address.sun_path)) {
        say("the socket path is too long: %s", path);
        return -1;
    }
    memcpy(address.sun_path, path, strlen(path) + 1);
    struct stat st;
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
        unlink(path); /* a previous helper's */
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&address, sizeof(address)) < 0 || listen(fd, 16) < 0) {
        say("cannot listen on %s: %s", path, strerror(errno));
        return -1;
    }
    /* Anyone may connect and be told why they are refused; SO_PEERCRED admits. */
    chmod(path, 0666);
    return fd;
}

static int resolve_group(const char *name)
{
    char *end;
    unsigned long number = strtoul(name, &end, 10);
    struct group *g = getgrnam(name);
    if (g) {
        group_id = g->gr_gid;
    } else if (*name && !*end) {
        group_id = (gid_t)number;
    } else {
        say("no group \"%s\" (create it with groupadd %s, or pass --group GID)", name, name);
        return -1;
    }
    snprintf(group_name, sizeof(group_name), "%s", name);
    return 0;
}

static void on_signal(int sig)
{
    (void)sig;
    stopping = 1;
}

int main(int argc, char **argv)
{
    const char *socket_path = WT_HELPER_DEFAULT_SOCKET, *group = WT_HELPER_DEFAULT_GROUP;
    const char *config = "/etc/wintun/helper.conf";
    int config_given = 0;
    for (int i = 1; i < argc; ++i) {
        if (!strcmp(argv[i], "--socket") && i + 1 < argc)
            socket_path = argv[++i];
        else if (!strcmp(argv[i], "--group") && i + 1 < argc)
            group = argv[++i];
        else if (!strcmp(argv[i], "--config") && i + 1 < argc)
            config = argv[++i], config_given = 1;
        else {
            fprintf(stderr, "usage: %s [--socket PATH] [--group GROUP] [--config PATH]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stderr, NULL, _IOLBF, 0);
    WintunSetLogger(library_log);
    char error[300];
    wt_policy_defaults(&policy);
    if (wt_policy_load(&policy, config, config_given, error, sizeof(error)) < 0) {
        say("%s", error);
        return 1;
    }
    if (resolve_group(group) < 0)
        return 1;
    if ((netlink = wt_nl_open()) < 0) {
        say("cannot open a netlink socket: %s", strerror(errno));
        return 1;
    }
    int listener = listen_on(socket_path);
    if (listener < 0)
        return 1;
    struct sigaction sa = { .sa_handler = on_signal };
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    for (int i = 0; i < MAX_CLIENTS; ++i)
        clients[i].fd = -1;
    for (int i = 0; i < MAX_ADAPTERS; ++i)
        adapters[i].client = -1;
    char ranges[200];
    wt_policy_describe(&policy, ranges, sizeof(ranges));
    say("serving %s for group \"%s\" (gid %u): at most %u adapters a user, addresses in %s", socket_path, group_name,
        (unsigned)group_id, policy.max_adapters, ranges);

    while (!stopping) {
        struct pollfd fds[MAX_CLIENTS + 1];
        int owner[MAX_CLIENTS + 1], n = 0;
        fds[n] = (struct pollfd){ .fd = listener, .events = POLLIN };
        owner[n++] = -1;
        for (int i = 0; i < MAX_CLIENTS; ++i)
            if (clients[i].fd >= 0) {
                fds[n] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
                owner[n++] = i;
            }
        if (poll(fds, (nfds_t)n, -1) < 0) {
            if (errno == EINTR)
                continue;
            say("poll: %s", strerror(errno));
            break;
        }
        for (int i = 1; i < n; ++i)
            if (fds[i].revents && clients[owner[i]].fd >= 0)
                serve(owner[i]);
        if (fds[0].revents & POLLIN)
            accept_client(listener);
    }
    for (int i = 0; i < MAX_CLIENTS; ++i)
        if (clients[i].fd >= 0)
            drop_client(i, "the helper stops");
    say("stopped");
    return 0;
}
