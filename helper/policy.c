/* SPDX-License-Identifier: MIT */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "policy.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const default_ranges[] = { "fd00::/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16" };

int wt_policy_parse_prefix(const char *text, WINTUN_ADDRESS *out)
{
    char address[64];
    const char *slash = strchr(text, '/');
    if (!slash || (size_t)(slash - text) >= sizeof(address) || !slash[1])
        return 0;
    memcpy(address, text, (size_t)(slash - text));
    address[slash - text] = 0;
    char *end;
    errno = 0;
    unsigned long prefix = strtoul(slash + 1, &end, 10);
    if (*end || errno || slash[1] < '0' || slash[1] > '9')
        return 0;
    memset(out, 0, sizeof(*out));
    if (inet_pton(AF_INET, address, out->Address) == 1 && prefix <= 32)
        out->Family = AF_INET;
    else if (inet_pton(AF_INET6, address, out->Address) == 1 && prefix <= 128)
        out->Family = AF_INET6;
    else
        return 0;
    out->PrefixLength = (unsigned char)prefix;
    return 1;
}

void wt_policy_defaults(struct wt_policy *policy)
{
    memset(policy, 0, sizeof(*policy));
    policy->max_adapters = 8;
    for (size_t i = 0; i < sizeof(default_ranges) / sizeof(default_ranges[0]); ++i)
        wt_policy_parse_prefix(default_ranges[i], &policy->ranges[policy->range_count++]);
}

static int same_bits(const unsigned char *a, const unsigned char *b, unsigned bits)
{
    if (memcmp(a, b, bits / 8))
        return 0;
    if (bits % 8) {
        unsigned char mask = (unsigned char)(0xFF << (8 - bits % 8));
        return (a[bits / 8] & mask) == (b[bits / 8] & mask);
    }
    return 1;
}

int wt_policy_allows(const struct wt_policy *policy, const WINTUN_ADDRESS *address)
{
    for (unsigned i = 0; i < policy->range_count; ++i) {
        const WINTUN_ADDRESS *range = &policy->ranges[i];
        if (range->Family == address->Family && address->PrefixLength >= range->PrefixLength &&
            same_bits(range->Address, address->Address, range->PrefixLength))
            return 1;
    }
    return 0;
}

void wt_policy_describe(const struct wt_policy *policy, char *out, size_t size)
{
    size_t n = 0;
    out[0] = 0;
    for (unsigned i = 0; i < policy->range_count && n < size; ++i) {
        char text[INET6_ADDRSTRLEN];
        const WINTUN_ADDRESS *range = &policy->ranges[i];
        inet_ntop(range->Family, range->Address, text, sizeof(text));
        int w = snprintf(out + n, size - n, "%s%s/%u", i ? ", " : "", text, range->PrefixLength);
        if (w < 0)
            break;
        n += (size_t)w;
    }
}

/* The file must be root's and not writable by group or others: a user who could write it could
 * grant themselves anything. */
static int trusted(int fd, const char *path, char *error, size_t error_size)
{
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        snprintf(error, error_size, "%s is not a regular file", path);
        return 0;
    }
    if (st.st_uid != 0 || (st.st_mode & (S_IWGRP | S_IWOTH))) {
        snprintf(error, error_size, "%s must belong to root and be writable by root only (owner %u, mode %04o)", path,
                 (unsigned)st.st_uid, (unsigned)(st.st_mode & 07777));
        return 0;
    }
    return 1;
}

int wt_policy_load(struct wt_policy *policy, const char *path, int must_exist, char *error, size_t error_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT && !must_exist)
            return 0;
        snprintf(error, error_size, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    if (!trusted(fd, path, error, error_size)) {
        close(fd);
        return -1;
    }
    FILE *f = fdopen(fd, "r");
    if (!f) {
        close(fd);
        snprintf(error, error_size, "cannot read %s", path);
        return -1;
    }
    char line[256];
    int number = 0, replaced = 0, rc = 0;
    while (fgets(line, sizeof(line), f)) {
        ++number;
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        char key[32], value[128], extra[2];
        int fields = sscanf(line, "%31s %127s %1s", key, value, extra);
        if (fields <= 0)
            continue;
        if (fields == 2 && !strcmp(key, "max-adapters")) {
            char *end;
            unsigned long n = strtoul(value, &end, 10);
            if (*end || value[0] < '0' || value[0] > '9' || n > 1024)
                goto bad;
            policy->max_adapters = (unsigned)n;
        } else if (fields == 2 && !strcmp(key, "allow")) {
            if (!replaced) {
                policy->range_count = 0;
                replaced = 1;
            }
            if (policy->range_count >= WT_POLICY_MAX_RANGES ||
                !wt_policy_parse_prefix(value, &policy->ranges[policy->range_count]))
                goto bad;
            ++policy->range_count;
        } else {
            goto bad;
        }
        continue;
    bad:
        snprintf(error, error_size, "%s:%d: not a setting (max-adapters N, allow PREFIX)", path, number);
        rc = -1;
        break;
    }
    fclose(f);
    return rc;
}
