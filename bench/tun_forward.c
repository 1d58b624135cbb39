/* SPDX-License-Identifier: MIT
 *
 * The C baselines of bench/bench_kernel.py: forwards packets between two TUN interfaces, each in
 * a network namespace of its own, with one thread per direction (poll, then read() and write()
 * until EAGAIN).
 *   plain  IFF_TUN | IFF_NO_PI: one packet per read() and per write(), what every TUN library does
 *   vnet   IFF_VNET_HDR and TUNSETOFFLOAD(CSUM | TSO4 | TSO6 | USO4 | USO6, then without USO):
 *          the kernel's super-packets pass through whole with their virtio-net header, the
 *          ceiling of any forwarder on this machine
 *
 *   device IFF_TUN | IFF_NO_PI and a TCP connection instead of the second TUN: the fake device of
 *          the pmd3 pump benchmark (pymobiledevice3's framing: each IPv6 packet as it is, found
 *          by its own header), so that the host's pump, not the device, is what is measured
 *
 *   tun_forward plain|vnet NETNS_A NAME_A NETNS_B NAME_B
 *   tun_forward device NETNS NAME LISTEN_ADDRESS PORT
 *
 * Prints "ready" once both interfaces exist (the caller configures them), then forwards until
 * a signal ends it. Built by bench_kernel.py (or make bench) with cc -O2 -pthread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef TUN_F_USO4
#define TUN_F_USO4 0x20
#define TUN_F_USO6 0x40
#endif

static int vnet;

static void die(const char *what)
{
    perror(what);
    exit(1);
}

static int open_tun(const char *netns, const char *name)
{
    char path[256];
    snprintf(path, sizeof(path), "/var/run/netns/%s", netns);
    int ns = open(path, O_RDONLY | O_CLOEXEC);
    if (ns < 0 || setns(ns, CLONE_NEWNET) < 0)
        die(path);
    close(ns);
    int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        die("/dev/net/tun");
    struct ifreq ifr = { 0 };
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI | (vnet ? IFF_VNET_HDR : 0);
    if (ioctl(fd, TUNSETIFF, &ifr) < 0)
        die("TUNSETIFF");
    if (vnet && ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_USO4 | TUN_F_USO6) < 0 &&
        ioctl(fd, TUNSETOFFLOAD, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6) < 0)
        die("TUNSETOFFLOAD");
    return fd;
}

struct direction
{
    int from, to;
    int to_socket; /* the device's TCP connection: one send() a packet, the end when it fails */
};

static void *forward(void *arg)
{
    const struct direction *d = arg;
    static _Thread_local unsigned char buf[65536 + 16];
    struct pollfd pfd = { .fd = d->from, .events = POLLIN };
    for (;;) {
        if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
            die("poll");
        for (;;) {
            ssize_t n = read(d->from, buf, sizeof(buf));
            if (n < 0) {
                if (errno == EAGAIN || errno == EINTR)
                    break;
                die("read");
            }
            if (d->to_socket) {
                if (send(d->to, buf, (size_t)n, MSG_NOSIGNAL) != n)
                    exit(0); /* the host went away */
            } else if (write(d->to, buf, (size_t)n) < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EIO) {
                die("write");
            }
        }
    }
    return NULL;
}

/* TCP -> TUN: the stream cut at each IPv6 header's payload length. */
static void *device_down(void *arg)
{
    const struct direction *d = arg;
    static _Thread_local unsigned char buf[1 << 20];
    size_t have = 0;
    for (;;) {
        ssize_t n = recv(d->from, buf + have, sizeof(buf) - have, 0);
        if (n <= 0)
            exit(0);
        have += (size_t)n;
        size_t at = 0;
        while (have - at >= 40) {
            size_t size = 40 + ((size_t)buf[at + 4] << 8 | buf[at + 5]);
            if (have - at < size)
                break;
            if (write(d->to, buf + at, size) < 0 && errno != EAGAIN && errno != EINVAL && errno != EIO)
                die("write");
            at += size;
        }
        memmove(buf, buf + at, have - at);
        have -= at;
    }
    return NULL;
}

static int device(char **argv)
{
    int tun = open_tun(argv[2], argv[3]);
    int listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[5])) };
    if (listener < 0 || inet_pton(AF_INET, argv[4], &addr.sin_addr) != 1 ||
        setsockopt(listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(listener, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(listener, 1) < 0)
        die("listen");
    printf("ready\n");
    fflush(stdout);
    int sock = accept(listener, NULL, NULL);
    if (sock < 0)
        die("accept");
    struct direction up = { tun, sock, 1 }, down = { sock, tun, 0 };
    pthread_t t1, t2;
    if (pthread_create(&t1, NULL, forward, &up) || pthread_create(&t2, NULL, device_down, &down))
        die("pthread_create");
    pthread_join(t2, NULL);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 6 && !strcmp(argv[1], "device"))
        return device(argv);
    if (argc != 6 || (strcmp(argv[1], "plain") && strcmp(argv[1], "vnet"))) {
        fprintf(stderr, "usage: %s plain|vnet NETNS_A NAME_A NETNS_B NAME_B\n"
                        "       %s device NETNS NAME LISTEN_ADDRESS PORT\n", argv[0], argv[0]);
        return 2;
    }
    vnet = !strcmp(argv[1], "vnet");
    int a = open_tun(argv[2], argv[3]), b = open_tun(argv[4], argv[5]);
    printf("ready\n");
    fflush(stdout);
    struct direction ab = { a, b, 0 }, ba = { b, a, 0 };
    pthread_t t1, t2;
    if (pthread_create(&t1, NULL, forward, &ab) || pthread_create(&t2, NULL, forward, &ba))
        die("pthread_create");
    pthread_join(t1, NULL); /* until SIGTERM or SIGINT ends the process */
    return 0;
}
