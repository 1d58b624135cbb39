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
 *   tun_forward plain|vnet NETNS_A NAME_A NETNS_B NAME_B
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
#include <sys/ioctl.h>
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
            if (write(d->to, buf, (size_t)n) < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EIO)
                die("write");
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc != 6 || (strcmp(argv[1], "plain") && strcmp(argv[1], "vnet"))) {
        fprintf(stderr, "usage: %s plain|vnet NETNS_A NAME_A NETNS_B NAME_B\n", argv[0]);
        return 2;
    }
    vnet = !strcmp(argv[1], "vnet");
    int a = open_tun(argv[2], argv[3]), b = open_tun(argv[4], argv[5]);
    printf("ready\n");
    fflush(stdout);
    struct direction ab = { a, b }, ba = { b, a };
    pthread_t t1, t2;
    if (pthread_create(&t1, NULL, forward, &ab) || pthread_create(&t2, NULL, forward, &ba))
        die("pthread_create");
    pthread_join(t1, NULL); /* until SIGTERM or SIGINT ends the process */
    return 0;
}
