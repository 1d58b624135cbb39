/* SPDX-License-Identifier: MIT
 *
 * What wintun-helper lets a user do: how many adapters at once, and which addresses.
 *
 * The file (default /etc/wintun/helper.conf; it must be root's and writable by no one else) has
 * one setting per line, '#' starting a comment:
 *
 *   max-adapters N     adapters one user may hold at once, over all connections (default 8)
 *   allow PREFIX       an address range a user may give an adapter, e.g. fd00::/8; the first
 *                      allow replaces the defaults (fd00::/8, 10.0.0.0/8, 172.16.0.0/12,
 *                      192.168.0.0/16)
 *
 * An address is allowed when it lies in an allowed range with a prefix at least as long as the
 * range's: fd00:1::2/64 is in fd00::/8, but fd00::1/7 is not.
 */
#ifndef WINTUN_HELPER_POLICY_H
#define WINTUN_HELPER_POLICY_H

#include "wintun_ext.h"

#define WT_POLICY_MAX_RANGES 64

struct wt_policy
{
    unsigned max_adapters;
    unsigned range_count;
    WINTUN_ADDRESS ranges[WT_POLICY_MAX_RANGES];
};

void wt_policy_defaults(struct wt_policy *policy);
/* Reads path over the defaults. A missing file is the defaults when it need not exist. Returns 0,
 * or -1 with the reason in error (why the file was refused, or the line that is wrong). */
int wt_policy_load(struct wt_policy *policy, const char *path, int must_exist, char *error, size_t error_size);
/* "10.0.0.0/8" into an address; 0 if it is not one. */
int wt_policy_parse_prefix(const char *text, WINTUN_ADDRESS *out);
int wt_policy_allows(const struct wt_policy *policy, const WINTUN_ADDRESS *address);
/* The ranges as text, "fd00::/8, 10.0.0.0/8", for messages. */
void wt_policy_describe(const struct wt_policy *policy, char *out, size_t size);

#endif
