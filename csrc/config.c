/* SPDX-License-Identifier: MIT
 *
 * IP configuration of an adapter (wintun_ext.h): arguments checked here, applied by the backend.
 */
#include "adapter.h"
#include "logger.h"

#ifdef _WIN32
#include <winsock2.h>
#include <ws2ipdef.h>
#else
#include <sys/socket.h>
#endif

#define MIN_MTU_IPV4 68
#define MIN_MTU_IPV6 1280

static struct wt_device *live_device(WINTUN_ADAPTER_HANDLE adapter)
{
    struct wt_device *dev = wt_adapter_device(adapter);
    if (dev && dev->removed) {
        SetLastError(ERROR_DEV_NOT_EXIST);
        return NULL;
    }
    return dev;
}

static BOOL result(DWORD err)
{
    if (err) {
        SetLastError(err);
        return FALSE;
    }
    return TRUE;
}

static int has_ipv6(struct wt_device *dev)
{
    WINTUN_ADDRESS addresses[WINTUN_MAX_ADDRESSES];
    DWORD count = WINTUN_MAX_ADDRESSES;
    if (dev->ops->get_addresses(dev, addresses, &count))
        return 0;
    for (DWORD i = 0; i < count; ++i)
        if (addresses[i].Family == AF_INET6)
            return 1;
    return 0;
}

BOOL WINAPI WintunSetAdapterMtu(WINTUN_ADAPTER_HANDLE adapter, DWORD mtu)
{
    struct wt_device *dev = live_device(adapter);
    if (!dev)
        return FALSE;
    DWORD min = has_ipv6(dev) ? MIN_MTU_IPV6 : MIN_MTU_IPV4;
    if (mtu < min || mtu > TUN_MAX_IP_PACKET_SIZE)
        return result(wt_log_error(ERROR_INVALID_PARAMETER, "MTU %u of adapter \"%s\" is outside [%u, %u]", (unsigned)mtu,
                                   dev->name_utf8, (unsigned)min, TUN_MAX_IP_PACKET_SIZE));
    return result(dev->ops->set_mtu(dev, mtu));
}

BOOL WINAPI WintunGetAdapterMtu(WINTUN_ADAPTER_HANDLE adapter, DWORD *mtu)
{
    struct wt_device *dev = live_device(adapter);
    if (!dev)
        return FALSE;
    if (!mtu)
        return result(ERROR_INVALID_PARAMETER);
    return result(dev->ops->get_mtu(dev, mtu));
}

static DWORD check_address(const WINTUN_ADDRESS *address)
{
    if (!address)
        return ERROR_INVALID_PARAMETER;
    if (address->Family == AF_INET && address->PrefixLength <= 32)
        return ERROR_SUCCESS;
    if (address->Family == AF_INET6 && address->PrefixLength <= 128)
        return ERROR_SUCCESS;
    return ERROR_INVALID_PARAMETER;
}

BOOL WINAPI WintunAddAdapterAddress(WINTUN_ADAPTER_HANDLE adapter, const WINTUN_ADDRESS *address)
{
    struct wt_device *dev = live_device(adapter);
    if (!dev)
        return FALSE;
    if (check_address(address))
        return result(wt_log_error(ERROR_INVALID_PARAMETER, "Not an IPv4 or IPv6 address with a valid prefix length"));
    return result(dev->ops->add_address(dev, address));
}

BOOL WINAPI WintunDeleteAdapterAddress(WINTUN_ADAPTER_HANDLE adapter, const WINTUN_ADDRESS *address)
{
    struct wt_device *dev = live_device(adapter);
    if (!dev)
        return FALSE;
    if (check_address(address))
        return result(ERROR_INVALID_PARAMETER);
    return result(dev->ops->delete_address(dev, address));
}

BOOL WINAPI WintunGetAdapterAddresses(WINTUN_ADAPTER_HANDLE adapter, WINTUN_ADDRESS *addresses, DWORD *count)
{
    struct wt_device *dev = live_device(adapter);
    if (!dev)
        return FALSE;
    if (!count || (!addresses && *count))
        return result(ERROR_INVALID_PARAMETER);
    return result(dev->ops->get_addresses(dev, addresses, count));
}

BOOL WINAPI WintunSetAdapterUp(WINTUN_ADAPTER_HANDLE adapter, BOOL up)
{
    struct wt_device *dev = live_device(adapter);
    if (!dev)
        return FALSE;
    return result(dev->ops->set_up(dev, up));
}

BOOL WINAPI WintunGetAdapterUp(WINTUN_ADAPTER_HANDLE adapter, BOOL *up)
{
    struct wt_device *dev = live_device(adapter);
    if (!dev)
        return FALSE;
    if (!up)
        return result(ERROR_INVALID_PARAMETER);
    return result(dev->ops->get_up(dev, up));
}
