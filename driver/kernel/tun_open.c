/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "tun_open.h"
#include "netlink.h"
#include "logger.h"
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdint.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum stage
{
    STAGE_NONE,
    STAGE_HELPER, /* the socket pair and the child that make a private namespace */
    STAGE_NAMESPACE,
    STAGE_USER_NAMESPACE,
    STAGE_ID_MAP,
    STAGE_OPEN_TUN,
    STAGE_SET_IFF,
    STAGE_NETLINK,
    STAGE_INDEX,
};

struct job
{
    const char *name;
    unsigned flags;
    int netns_fd;
    int err;
    enum stage stage;
    struct wt_tun_handles out;
};

ssize_t wt_send_with_fds(int sock, const void *data, size_t size, const int *fds, unsigned count, int flags)
{
    char control[CMSG_SPACE(WT_MAX_SENT_FDS * sizeof(int))];
    struct iovec iov = { .iov_base = (void *)data, .iov_len = size };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };
    if (count > WT_MAX_SENT_FDS) {
        errno = EINVAL;
        return -1;
    }
    if (count) {
        memset(control, 0, sizeof(control));
        msg.msg_control = control;
        msg.msg_controllen = CMSG_SPACE(count * sizeof(int));
        struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
        cmsg->cmsg_level = SOL_SOCKET;
        cmsg->cmsg_type = SCM_RIGHTS;
        cmsg->cmsg_len = CMSG_LEN(count * sizeof(int));
        memcpy(CMSG_DATA(cmsg), fds, count * sizeof(int));
    }
    return sendmsg(sock, &msg, MSG_NOSIGNAL | flags);
}

/* What the kernel's dev_valid_name() refuses, and '%', which TUNSETIFF would take as a template
 * ("wt%d" becomes wt0): never a name of ours. */
static int name_chars_valid(const char *name)
{
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return 0;
    for (const char *p = name; *p; ++p)
        if (*p == '/' || *p == ':' || *p == '%' || *p == ' ' || (*p >= '\t' && *p <= '\r'))
            return 0;
    return 1;
}

int wt_tun_name_valid(const char *name) { return strlen(name) < IFNAMSIZ && name_chars_valid(name); }

int wt_tun_altname_valid(const char *name) { return strlen(name) < WT_ALTIFNAMSIZ && name_chars_valid(name); }

/* FNV-1a: a hash that is the same in every process and on every machine. */
static uint32_t name_hash(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; ++p)
        h = (h ^ *p) * 16777619u;
    return h;
}

void wt_tun_ifname(const char *name, char out[WT_IFNAMSIZ])
{
    if (wt_tun_name_valid(name)) {
        memcpy(out, name, strlen(name) + 1);
        return;
    }
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (const char *p = name; *p && n < 6; ++p)
        if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-')
            out[n++] = *p;
    if (!n) {
        out[n++] = 'w';
        out[n++] = 't';
    }
    out[n++] = '-';
    uint32_t h = name_hash(name);
    for (int shift = 28; shift >= 0; shift -= 4)
        out[n++] = hex[(h >> shift) & 0xF];
    out[n] = 0;
}

/* In the namespace the calling thread is in. Async-signal-safe calls only: it also runs in a
 * forked child. */
static void open_here(struct job *job)
{
    job->stage = STAGE_OPEN_TUN;
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        job->err = errno;
        return;
    }
    struct ifreq ifr;
    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, job->name, strlen(job->name));
    ifr.ifr_flags = (short)(IFF_TUN | IFF_NO_PI | IFF_TUN_EXCL); /* IFF_TUN_EXCL is bit 15 */
    if (job->flags & WT_TUN_VNET_HDR)
        ifr.ifr_flags |= IFF_VNET_HDR;
    job->stage = STAGE_SET_IFF;
    if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
        job->err = errno;
        close(fd);
        return;
    }
    job->stage = STAGE_NETLINK;
    int nl = wt_nl_open();
    if (nl < 0) {
        job->err = errno;
        close(fd);
        return;
    }
    job->stage = STAGE_INDEX;
    unsigned index = if_nametoindex(ifr.ifr_name);
    if (!index) {
        job->err = errno;
        close(nl);
        close(fd);
        return;
    }
    job->out.tun_fd = fd;
    job->out.nl_fd = nl;
    job->out.ifindex = index;
    job->out.vnet_hdr = (job->flags & WT_TUN_VNET_HDR) != 0;
    job->err = 0;
    job->stage = STAGE_NONE;
}

/* A named namespace: entered by a short-lived thread, since setns() of a network namespace
 * changes only the calling thread; the descriptors it opens stay bound to that namespace. */
static void named_namespace_thread(void *arg)
{
    struct job *job = arg;
    job->stage = STAGE_NAMESPACE;
    if (setns(job->netns_fd, CLONE_NEWNET) < 0) {
        job->err = errno;
        return;
    }
    open_here(job);
}

static int write_file(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, text, strlen(text));
    close(fd);
    return n < 0 ? -1 : 0;
}

/* "0 <id> 1": the caller's id is root in the new user namespace. No snprintf after fork. */
static void id_map(char *out, unsigned id)
{
    char digits[16];
    int n = 0;
    do
        digits[n++] = (char)('0' + id % 10);
    while ((id /= 10));
    *out++ = '0';
    *out++ = ' ';
    while (n)
        *out++ = digits[--n];
    memcpy(out, " 1", 3);
}

struct child_report
{
    int err;
    int stage;
    unsigned ifindex;
};

/* A private namespace: a forked child makes a user and a network namespace, creates the
 * interface there and passes its descriptors back; the namespaces live on through them. Every
 * failure, its own included, is left in job->err and job->stage. */
static void create_private(struct job *job)
{
    int sv[2];
    job->stage = STAGE_HELPER;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        job->err = errno;
        return;
    }
    char uid_map[32], gid_map[32];
    id_map(uid_map, (unsigned)getuid());
    id_map(gid_map, (unsigned)getgid());
    pid_t pid = fork();
    if (pid < 0) {
        job->err = errno;
        close(sv[0]);
        close(sv[1]);
        return;
    }
    if (pid == 0) {
        struct child_report report = { 0 };
        int fds[4] = { -1, -1, -1, -1 };
        if (unshare(CLONE_NEWUSER | CLONE_NEWNET) < 0) {
            report.err = errno;
            report.stage = STAGE_USER_NAMESPACE;
        } else if (write_file("/proc/self/setgroups", "deny") < 0 || write_file("/proc/self/uid_map", uid_map) < 0 ||
                   write_file("/proc/self/gid_map", gid_map) < 0) {
            report.err = errno;
            report.stage = STAGE_ID_MAP;
        } else {
            open_here(job);
            report.err = job->err;
            report.stage = job->stage;
            report.ifindex = job->out.ifindex;
            if (!job->err) {
                fds[0] = job->out.tun_fd;
                fds[1] = job->out.nl_fd;
                fds[2] = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
                fds[3] = open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC);
            }
        }
        int with_fds = !report.err && fds[2] >= 0 && fds[3] >= 0;
        if (!report.err && !with_fds) {
            report.err = errno;
            report.stage = STAGE_NAMESPACE;
        }
        wt_send_with_fds(sv[1], &report, sizeof(report), fds, with_fds ? 4 : 0, 0);
        _exit(0);
    }
    close(sv[1]);
    struct child_report report = { .err = EIO, .stage = STAGE_NAMESPACE };
    int fds[4];
    char control[CMSG_SPACE(sizeof(fds))];
    struct iovec iov = { .iov_base = &report, .iov_len = sizeof(report) };
    struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof(control) };
    ssize_t n;
    do
        n = recvmsg(sv[0], &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    close(sv[0]);
    while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
        ;
    if (n != (ssize_t)sizeof(report)) {
        job->err = n < 0 ? errno : EIO;
        job->stage = STAGE_HELPER;
        return;
    }
    job->err = report.err;
    job->stage = (enum stage)report.stage;
    if (report.err)
        return;
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (!cmsg || cmsg->cmsg_type != SCM_RIGHTS || cmsg->cmsg_len != CMSG_LEN(sizeof(fds))) {
        job->err = (msg.msg_flags & MSG_CTRUNC) ? EMFILE : EIO; /* no room for the descriptors */
        job->stage = STAGE_HELPER;
        return;
    }
    memcpy(fds, CMSG_DATA(cmsg), sizeof(fds));
    job->out.tun_fd = fds[0];
    job->out.nl_fd = fds[1];
    job->out.netns_fd = fds[2];
    job->out.userns_fd = fds[3];
    job->out.ifindex = report.ifindex;
    job->out.vnet_hdr = (job->flags & WT_TUN_VNET_HDR) != 0;
}

static DWORD explain(const struct job *job, const char *netns)
{
    int err = job->err;
    switch (job->stage) {
    case STAGE_HELPER:
        return wt_log_errno(err, "Failed to start the process that makes a private network namespace");
    case STAGE_NAMESPACE:
        return wt_log_errno(err, "Failed to enter network namespace \"%s\"", netns);
    case STAGE_USER_NAMESPACE:
        if (err == EPERM || err == EACCES || err == ENOSPC || err == EINVAL) {
            wt_log_errno(err, "Failed to create a private user and network namespace: the kernel does not allow it "
                              "here (see sysctls kernel.unprivileged_userns_clone and user.max_user_namespaces)");
            return ERROR_NOT_SUPPORTED;
        }
        return wt_log_errno(err, "Failed to create a private user and network namespace");
    case STAGE_ID_MAP:
        return wt_log_errno(err, "Failed to map the user into the private user namespace");
    case STAGE_OPEN_TUN:
        if (err == ENOENT || err == ENODEV)
            return wt_log_errno(err, "Failed to open /dev/net/tun: the tun module is missing (modprobe tun)");
        if (err == EACCES || err == EPERM) {
            wt_log_errno(err, "Failed to open /dev/net/tun: it must be readable and writable by this user (it "
                              "usually has mode 0666), and creating an interface needs CAP_NET_ADMIN. Run as root, "
                              "run wintun-helper and join its group, or use the emulated backend");
            return ERROR_ACCESS_DENIED;
        }
        return wt_log_errno(err, "Failed to open /dev/net/tun");
    case STAGE_SET_IFF:
        if (err == EPERM || err == EACCES) {
            wt_log_errno(err, "Failed to create TUN interface \"%s\": creating one needs CAP_NET_ADMIN. Run as root, "
                              "grant the capability (setcap cap_net_admin+ep), run wintun-helper and join its group, "
                              "create it in a private namespace, or use the emulated backend", job->name);
            return ERROR_ACCESS_DENIED;
        }
        if (err == EBUSY || err == EEXIST) {
            wt_log_errno(err, "Failed to create TUN interface \"%s\": an interface of that name exists; it is never "
                              "taken over or renamed", job->name);
            return ERROR_ALREADY_EXISTS;
        }
        return wt_log_errno(err, "Failed to create TUN interface \"%s\"", job->name);
    case STAGE_NETLINK:
        return wt_log_errno(err, "Failed to open a netlink socket");
    case STAGE_INDEX:
        return wt_log_errno(err, "Failed to find the index of interface \"%s\"", job->name);
    default:
        return wt_log_errno(err ? err : EIO, "Failed to create TUN interface \"%s\"", job->name);
    }
}

DWORD wt_tun_create(const char *name, const char *netns, unsigned flags, struct wt_tun_handles *out)
{
    struct job job = { .name = name, .flags = flags, .netns_fd = -1, .out = { -1, -1, -1, -1, 0, 0 } };
    if (!wt_tun_name_valid(name))
        return wt_log_error(ERROR_INVALID_NAME, "\"%s\" is not a name Linux takes for an interface: 1 to %d bytes, "
                                                "without '/', ':', '%%' or white space", name, IFNAMSIZ - 1);
    DWORD err = ERROR_SUCCESS;
    if (!netns || !*netns) {
        open_here(&job);
    } else if (!strcmp(netns, "private")) {
        create_private(&job);
    } else {
        char path[256];
        snprintf(path, sizeof(path), strchr(netns, '/') ? "%s" : "/var/run/netns/%s", netns);
        job.stage = STAGE_NAMESPACE;
        job.netns_fd = open(path, O_RDONLY | O_CLOEXEC);
        if (job.netns_fd < 0) {
            job.err = errno;
        } else {
            wt_thread thread;
            if ((err = wt_thread_start(&thread, named_namespace_thread, &job))) {
                close(job.netns_fd);
                return wt_log_error(err, "Failed to start a thread");
            }
            wt_thread_join(thread);
            job.out.netns_fd = job.netns_fd;
        }
    }
    if (job.err) {
        if (job.netns_fd >= 0)
            close(job.netns_fd);
        return explain(&job, netns);
    }
    *out = job.out;
    return ERROR_SUCCESS;
}

void wt_tun_close(struct wt_tun_handles *h)
{
    int *fds[] = { &h->tun_fd, &h->nl_fd, &h->netns_fd, &h->userns_fd };
    for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); ++i) {
        if (*fds[i] >= 0)
            close(*fds[i]);
        *fds[i] = -1;
    }
}

/* The interface name of an adapter: its own where Linux takes it, else one derived from it
 * (tun_open.h), with the full name an alternative name. */
static DWORD check_name(const char *name, char ifname[WT_IFNAMSIZ])
{
    if (wt_tun_name_valid(name)) {
        wt_tun_ifname(name, ifname);
        return ERROR_SUCCESS;
    }
    if (strchr(name, '%'))
        return wt_log_error(ERROR_INVALID_NAME, "\"%s\" is not a name for a kernel adapter: '%%' would make it a "
                                                "template for the kernel", name);
    if (!wt_tun_altname_valid(name))
        return wt_log_error(ERROR_INVALID_NAME, "\"%s\" is not a name for a kernel adapter: Linux takes at most %d "
                                                "bytes (UTF-8), without '/', ':' or white space", name, WT_ALTIFNAMSIZ - 1);
    wt_tun_ifname(name, ifname);
    return ERROR_SUCCESS;
}

/* The adapter's full name as an alternative name of its interface (ip link show NAME finds it);
 * the interface is removed by the caller on failure. */
static DWORD add_altname(const struct wt_tun_handles *h, const char *name, const char *ifname)
{
    DWORD err = wt_nl_add_altname(h->nl_fd, h->ifindex, name);
    if (err == ERROR_NOT_SUPPORTED)
        return wt_log_error(err, "\"%s\" is longer than an interface name (15 bytes), and this kernel has no "
                                 "alternative names (Linux 5.5 or later) to carry it: use a name of at most 15 bytes",
                            name);
    if (err == ERROR_OBJECT_ALREADY_EXISTS || err == ERROR_ALREADY_EXISTS)
        return wt_log_error(ERROR_ALREADY_EXISTS, "Another interface has the name \"%s\"", name);
    if (!err)
        wt_log(WINTUN_LOG_INFO, "Adapter \"%s\" is interface %s", name, ifname);
    return err;
}

DWORD wt_tun_create_adapter(const char *name, const char *netns, unsigned flags, struct wt_tun_handles *out)
{
    char ifname[WT_IFNAMSIZ];
    DWORD err = check_name(name, ifname);
    if (err || (err = wt_tun_create(ifname, netns, flags, out)))
        return err;
    /* The interface holds what is configured and nothing else (no automatic IPv6 link-local),
     * and is up, as a Wintun adapter is once created. */
    if ((strcmp(ifname, name) && (err = add_altname(out, name, ifname))) ||
        (err = wt_nl_disable_ipv6_autoconf(out->nl_fd, out->ifindex)) ||
        (err = wt_nl_set_link(out->nl_fd, out->ifindex, 0, 1))) {
        wt_tun_close(out);
        return err;
    }
    if (netns && !strcmp(netns, "private"))
        wt_nl_set_link(out->nl_fd, 1, 0, 1); /* loopback up in a namespace of our own */
    return ERROR_SUCCESS;
}

void wt_tun_mark_adapter(int nl_fd, unsigned ifindex, const GUID *g, const char *tunnel_type)
{
    char alias[256];
    snprintf(alias, sizeof(alias), "wintun:{%08X-%04X-%04X-%02X%02X-%02X%02X%02X%02X%02X%02X}:%s", (unsigned)g->Data1,
             g->Data2, g->Data3, g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5], g->Data4[6],
             g->Data4[7], tunnel_type);
    DWORD err = wt_nl_set_alias(nl_fd, ifindex, alias);
    if (err)
        wt_log(WINTUN_LOG_WARN, "Interface %u is not marked as an adapter (error %lu): python -m wintun list will not show "
                                "it to other processes", ifindex, (unsigned long)err);
}

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20 /* Linux 6.2 */
#define TUN_F_USO6 0x40
#endif

unsigned wt_tun_set_offload(int tun_fd, unsigned want)
{
    static const unsigned tries[] = { TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6,
                                      TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6, TUN_F_CSUM, 0 };
    for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); ++i) {
        if ((tries[i] & want) != tries[i])
            continue;
        if (ioctl(tun_fd, TUNSETOFFLOAD, (unsigned long)tries[i]) == 0)
            return tries[i];
        if (errno != EINVAL)
            wt_log_errno(errno, "Failed to set TUN offloads 0x%x", tries[i]);
    }
    return 0;
}
