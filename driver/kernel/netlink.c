/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "netlink.h"
#include "logger.h"
#include "platform.h"

#include <errno.h>
#include <linux/if_addr.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef IN6_ADDR_GEN_MODE_NONE
#define IN6_ADDR_GEN_MODE_NONE 1
#endif
#ifndef RTM_NEWLINKPROP /* Linux 5.5 */
#define RTM_NEWLINKPROP 108
#define IFLA_PROP_LIST 52
#define IFLA_ALT_IFNAME 53
#endif

struct wt_nl_fault wt_nl_fault;

struct request
{
    struct nlmsghdr header;
    union
    {
        struct ifinfomsg link;
        struct ifaddrmsg address;
    };
    char attributes[256];
};

static uint32_t next_seq;

int wt_nl_open(void)
{
    int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    if (fd < 0)
        return -1;
    struct sockaddr_nl local = { .nl_family = AF_NETLINK };
    int one = 1;
    setsockopt(fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&local, sizeof(local)) < 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

static struct rtattr *add_attribute(struct request *req, unsigned short type, const void *data, size_t size)
{
    struct rtattr *rta = (struct rtattr *)((char *)req + NLMSG_ALIGN(req->header.nlmsg_len));
    rta->rta_type = type;
    rta->rta_len = (unsigned short)RTA_LENGTH(size);
    if (size)
        memcpy(RTA_DATA(rta), data, size);
    req->header.nlmsg_len = NLMSG_ALIGN(req->header.nlmsg_len) + RTA_ALIGN(rta->rta_len);
    return rta;
}

static void end_nest(struct request *req, struct rtattr *nest)
{
    nest->rta_len = (unsigned short)((char *)req + req->header.nlmsg_len - (char *)nest);
}

/* The messages in buf[0..n) that answer request seq: each answer goes to each(); returns
 * ERROR_SUCCESS at the end of the reply (NLMSG_DONE or an acknowledgement), the error the kernel
 * reported (logged; errno `quiet` is ERROR_NOT_SUPPORTED, not logged: the caller explains it),
 * or ERROR_MORE_DATA when more is to come. Every length is checked: buf is untrusted. */
static DWORD parse_replies(const void *buf, size_t n, uint32_t seq, const char *what, int quiet,
                           void (*each)(const struct nlmsghdr *, void *), void *context)
{
    /* An int, never cast to unsigned: NLMSG_NEXT takes the aligned length off, which can leave
     * it negative after a last message of unaligned length (found by fuzz_netlink). */
    int left = n > INT32_MAX ? INT32_MAX : (int)n;
    for (const struct nlmsghdr *h = buf; NLMSG_OK(h, left); h = NLMSG_NEXT(h, left)) {
        if (h->nlmsg_seq != seq)
            continue;
        if (h->nlmsg_type == NLMSG_DONE)
            return ERROR_SUCCESS;
        if (h->nlmsg_type == NLMSG_ERROR) {
            int err;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(err)))
                return wt_log_error(ERROR_INVALID_DATA, "Failed to %s: a netlink error message of %u bytes", what,
                                    (unsigned)h->nlmsg_len);
            memcpy(&err, NLMSG_DATA(h), sizeof(err)); /* nlmsgerr.error */
            if (!err)
                return ERROR_SUCCESS;
            err = err == INT32_MIN ? EIO : -err;
            if (err == quiet)
                return ERROR_NOT_SUPPORTED;
            DWORD code = err == EEXIST ? ERROR_OBJECT_ALREADY_EXISTS
                         : err == EADDRNOTAVAIL || err == ENODEV ? ERROR_NOT_FOUND
                                                                 : wt_win32_from_errno(err);
            char detail[160];
            snprintf(detail, sizeof(detail), "%s, errno %d", strerror(err), err);
            wt_log_error(code, "Failed to %s (%s)", what, detail);
            return code;
        }
        if (each)
            each(h, context);
    }
    return ERROR_MORE_DATA;
}

/* The error a test injected for req (wt_nl_fault), answered as the kernel answers one. */
static int injected(const struct request *req, void *reply, size_t size)
{
    int err = wt_atomic_load(&wt_nl_fault.err, WT_ACQUIRE);
    if (!err || req->header.nlmsg_type != wt_nl_fault.type)
        return 0;
    size_t fixed = req->header.nlmsg_type == RTM_NEWADDR || req->header.nlmsg_type == RTM_DELADDR
                       ? sizeof(struct ifaddrmsg)
                       : sizeof(struct ifinfomsg);
    const struct rtattr *first = (const struct rtattr *)((const char *)req + NLMSG_LENGTH(fixed));
    if (wt_nl_fault.attribute && (req->header.nlmsg_len <= NLMSG_LENGTH(fixed) || first->rta_type != wt_nl_fault.attribute))
        return 0;
    if (wt_nl_fault.family && req->link.ifi_family != wt_nl_fault.family)
        return 0;
    struct nlmsghdr *h = reply;
    memset(reply, 0, size);
    h->nlmsg_len = NLMSG_LENGTH(sizeof(struct nlmsgerr));
    h->nlmsg_type = NLMSG_ERROR;
    h->nlmsg_seq = req->header.nlmsg_seq;
    ((struct nlmsgerr *)NLMSG_DATA(h))->error = -err;
    return 1;
}

/* Sends req and waits for its acknowledgement; for a dump, hands every reply to each(). */
static DWORD transact_quiet(int fd, struct request *req, const char *what, int quiet,
                            void (*each)(const struct nlmsghdr *, void *), void *context)
{
    req->header.nlmsg_seq = wt_atomic_add_fetch(&next_seq, 1, WT_RELAXED);
    static _Thread_local char buffer[32768];
    if (injected(req, buffer, NLMSG_SPACE(sizeof(struct nlmsgerr))))
        return parse_replies(buffer, NLMSG_SPACE(sizeof(struct nlmsgerr)), req->header.nlmsg_seq, what, quiet, each,
                             context);
    struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
    if (sendto(fd, req, req->header.nlmsg_len, 0, (struct sockaddr *)&kernel, sizeof(kernel)) < 0)
        return wt_log_errno(errno, "Failed to send the netlink request to %s", what);
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return wt_log_errno(errno, "Failed to receive the netlink reply to %s", what);
        }
        DWORD err = parse_replies(buffer, (size_t)n, req->header.nlmsg_seq, what, quiet, each, context);
        if (err != ERROR_MORE_DATA)
            return err;
    }
}

static DWORD transact(int fd, struct request *req, const char *what, void (*each)(const struct nlmsghdr *, void *),
                      void *context)
{
    return transact_quiet(fd, req, what, 0, each, context);
}

static void init_link_request(struct request *req, unsigned short type, unsigned short flags, unsigned ifindex)
{
    memset(req, 0, sizeof(*req));
    req->header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg));
    req->header.nlmsg_type = type;
    req->header.nlmsg_flags = NLM_F_REQUEST | flags;
    req->link.ifi_family = AF_UNSPEC;
    req->link.ifi_index = (int)ifindex;
}

DWORD wt_nl_set_link(int fd, unsigned ifindex, DWORD mtu, int up)
{
    struct request req;
    init_link_request(&req, RTM_NEWLINK, NLM_F_ACK, ifindex);
    if (up >= 0) {
        req.link.ifi_change = IFF_UP;
        req.link.ifi_flags = up ? IFF_UP : 0;
    }
    if (mtu) {
        uint32_t value = mtu;
        add_attribute(&req, IFLA_MTU, &value, sizeof(value));
    }
    char what[64];
    snprintf(what, sizeof(what), "configure interface %u", ifindex);
    return transact(fd, &req, what, NULL, NULL);
}

DWORD wt_nl_set_alias(int fd, unsigned ifindex, const char *alias)
{
    struct request req;
    init_link_request(&req, RTM_NEWLINK, NLM_F_ACK, ifindex);
    add_attribute(&req, IFLA_IFALIAS, alias, strlen(alias) + 1);
    return transact(fd, &req, "set the interface's alias", NULL, NULL);
}

DWORD wt_nl_delete_link(int fd, unsigned ifindex)
{
    struct request req;
    init_link_request(&req, RTM_DELLINK, NLM_F_ACK, ifindex);
    return transact(fd, &req, "remove the interface", NULL, NULL);
}

DWORD wt_nl_disable_ipv6_autoconf(int fd, unsigned ifindex)
{
    struct request req;
    init_link_request(&req, RTM_NEWLINK, NLM_F_ACK, ifindex);
    struct rtattr *spec = add_attribute(&req, IFLA_AF_SPEC, NULL, 0);
    struct rtattr *inet6 = add_attribute(&req, AF_INET6, NULL, 0);
    uint8_t mode = IN6_ADDR_GEN_MODE_NONE;
    add_attribute(&req, IFLA_INET6_ADDR_GEN_MODE, &mode, sizeof(mode));
    end_nest(&req, inet6);
    end_nest(&req, spec);
    /* EAFNOSUPPORT: IPv6 is off (ipv6.disable=1), so there is nothing to turn off. */
    DWORD err = transact_quiet(fd, &req, "turn off IPv6 address autoconfiguration", EAFNOSUPPORT, NULL, NULL);
    return err == ERROR_NOT_SUPPORTED ? ERROR_SUCCESS : err;
}

DWORD wt_nl_add_altname(int fd, unsigned ifindex, const char *name)
{
    struct request req;
    size_t len = strlen(name);
    if (len >= 128)
        return wt_log_error(ERROR_INVALID_NAME, "\"%s\" is longer than an alternative interface name (127 bytes)", name);
    init_link_request(&req, RTM_NEWLINKPROP, NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, ifindex);
    struct rtattr *list = add_attribute(&req, IFLA_PROP_LIST | NLA_F_NESTED, NULL, 0); /* strict: marked nested */
    add_attribute(&req, IFLA_ALT_IFNAME, name, len + 1);
    end_nest(&req, list);
    /* EOPNOTSUPP: the kernel has no alternative names (before 5.5); the caller says what that means. */
    return transact_quiet(fd, &req, "add the alternative interface name", EOPNOTSUPP, NULL, NULL);
}

struct link_state
{
    unsigned ifindex;
    int found;
    DWORD mtu;
    BOOL up;
    char name[16]; /* IFLA_IFNAME, "" if absent or too long */
};

static void read_link(const struct nlmsghdr *h, void *context)
{
    struct link_state *state = context;
    if (h->nlmsg_type != RTM_NEWLINK || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifinfomsg)))
        return;
    const struct ifinfomsg *ifi = NLMSG_DATA(h);
    if ((unsigned)ifi->ifi_index != state->ifindex)
        return;
    state->found = 1;
    state->up = !!(ifi->ifi_flags & IFF_UP);
    int len = (int)IFLA_PAYLOAD(h);
    for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, len); a = RTA_NEXT(a, len))
        if (a->rta_type == IFLA_MTU && RTA_PAYLOAD(a) >= sizeof(uint32_t))
            memcpy(&state->mtu, RTA_DATA(a), sizeof(uint32_t));
        else if (a->rta_type == IFLA_IFNAME) {
            size_t size = strnlen(RTA_DATA(a), RTA_PAYLOAD(a));
            if (size < sizeof(state->name)) {
                memcpy(state->name, RTA_DATA(a), size);
                state->name[size] = 0;
            }
        }
}

DWORD wt_nl_parse_link_replies(const void *buf, size_t n, uint32_t seq, unsigned ifindex, DWORD *mtu, BOOL *up)
{
    struct link_state state = { .ifindex = ifindex };
    DWORD err = parse_replies(buf, n, seq, "read the interface", 0, read_link, &state);
    *mtu = state.mtu;
    *up = state.up;
    return err;
}

static DWORD get_link(int fd, unsigned ifindex, struct link_state *state)
{
    struct request req;
    init_link_request(&req, RTM_GETLINK, NLM_F_ACK, ifindex); /* the ACK ends the reply */
    state->ifindex = ifindex;
    DWORD err = transact(fd, &req, "read the interface", read_link, state);
    if (err)
        return err;
    if (!state->found)
        return wt_log_error(ERROR_DEV_NOT_EXIST, "Interface %u is gone", ifindex);
    return ERROR_SUCCESS;
}

DWORD wt_nl_get_link(int fd, unsigned ifindex, DWORD *mtu, BOOL *up)
{
    struct link_state state = { 0 };
    DWORD err = get_link(fd, ifindex, &state);
    if (err)
        return err;
    if (mtu)
        *mtu = state.mtu;
    if (up)
        *up = state.up;
    return ERROR_SUCCESS;
}

DWORD wt_nl_get_ifname(int fd, unsigned ifindex, char name[16])
{
    struct link_state state = { 0 };
    DWORD err = get_link(fd, ifindex, &state);
    if (err)
        return err;
    if (!state.name[0])
        return wt_log_error(ERROR_INVALID_DATA, "Interface %u has no name in the kernel's answer", ifindex);
    memcpy(name, state.name, sizeof(state.name));
    return ERROR_SUCCESS;
}

static DWORD address_request(int fd, unsigned short type, unsigned ifindex, const WINTUN_ADDRESS *address)
{
    struct request req;
    memset(&req, 0, sizeof(req));
    req.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.header.nlmsg_type = type;
    req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | (type == RTM_NEWADDR ? NLM_F_CREATE | NLM_F_EXCL : 0);
    req.address.ifa_family = (unsigned char)address->Family;
    req.address.ifa_prefixlen = address->PrefixLength;
    req.address.ifa_index = ifindex;
    req.address.ifa_scope = RT_SCOPE_UNIVERSE;
    size_t size = address->Family == AF_INET ? 4 : 16;
    add_attribute(&req, IFA_LOCAL, address->Address, size);
    add_attribute(&req, IFA_ADDRESS, address->Address, size);
    if (address->Family == AF_INET6 && type == RTM_NEWADDR) {
        uint32_t flags = IFA_F_NODAD; /* Wintun's example: DadState preferred */
        req.address.ifa_flags = IFA_F_NODAD;
        add_attribute(&req, IFA_FLAGS, &flags, sizeof(flags));
    }
    const char *what = type == RTM_NEWADDR ? "add the address" : "remove the address";
    DWORD err = transact_quiet(fd, &req, what, EAFNOSUPPORT, NULL, NULL);
    if (err == ERROR_NOT_SUPPORTED)
        wt_log_error(err, "Failed to %s: %s is off on this host", what,
                     address->Family == AF_INET6 ? "IPv6 (ipv6.disable=1)" : "IPv4");
    return err;
}

DWORD wt_nl_add_address(int fd, unsigned ifindex, const WINTUN_ADDRESS *address)
{
    return address_request(fd, RTM_NEWADDR, ifindex, address);
}

DWORD wt_nl_delete_address(int fd, unsigned ifindex, const WINTUN_ADDRESS *address)
{
    return address_request(fd, RTM_DELADDR, ifindex, address);
}

struct address_list
{
    unsigned ifindex;
    WINTUN_ADDRESS *addresses;
    DWORD room, count;
};

static void read_address(const struct nlmsghdr *h, void *context)
{
    struct address_list *list = context;
    if (h->nlmsg_type != RTM_NEWADDR || h->nlmsg_len < NLMSG_LENGTH(sizeof(struct ifaddrmsg)))
        return;
    const struct ifaddrmsg *ifa = NLMSG_DATA(h);
    if (ifa->ifa_index != list->ifindex || (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6))
        return;
    const void *local = NULL, *address = NULL;
    int len = (int)IFA_PAYLOAD(h);
    const unsigned size = ifa->ifa_family == AF_INET ? 4 : 16;
    for (const struct rtattr *a = IFA_RTA(ifa); RTA_OK(a, len); a = RTA_NEXT(a, len)) {
        if (RTA_PAYLOAD(a) < size)
            continue; /* too short for the family's address: not one */
        if (a->rta_type == IFA_LOCAL)
            local = RTA_DATA(a);
        else if (a->rta_type == IFA_ADDRESS)
            address = RTA_DATA(a);
    }
    const void *which = local ? local : address;
    if (!which)
        return;
    if (list->count < list->room) {
        WINTUN_ADDRESS *out = &list->addresses[list->count];
        memset(out, 0, sizeof(*out));
        out->Family = ifa->ifa_family;
        out->PrefixLength = ifa->ifa_prefixlen;
        memcpy(out->Address, which, size);
    }
    list->count++;
}

DWORD wt_nl_parse_address_replies(const void *buf, size_t n, uint32_t seq, unsigned ifindex, WINTUN_ADDRESS *addresses,
                                  DWORD *count)
{
    struct address_list list = { .ifindex = ifindex, .addresses = addresses, .room = *count };
    DWORD err = parse_replies(buf, n, seq, "read the addresses", 0, read_address, &list);
    *count = list.count;
    return err;
}

DWORD wt_nl_get_addresses(int fd, unsigned ifindex, WINTUN_ADDRESS *addresses, DWORD *count)
{
    struct request req;
    memset(&req, 0, sizeof(req));
    req.header.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifaddrmsg));
    req.header.nlmsg_type = RTM_GETADDR;
    req.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    req.address.ifa_family = AF_UNSPEC;
    req.address.ifa_index = ifindex;
    struct address_list list = { .ifindex = ifindex, .addresses = addresses, .room = *count };
    DWORD err = transact(fd, &req, "read the addresses", read_address, &list);
    if (err)
        return err;
    *count = list.count;
    return list.count > list.room ? ERROR_INSUFFICIENT_BUFFER : ERROR_SUCCESS;
}
