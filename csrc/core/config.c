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

enum config_op
{
    SET_MTU,
    GET_MTU,
    ADD_ADDRESS,
    DELETE_ADDRESS,
    GET_ADDRESSES,
    SET_UP,
    GET_UP
};

struct config_args
{
    DWORD value;
    DWORD *out;
    const WINTUN_ADDRESS *address;
    WINTUN_ADDRESS *addresses;
};

/* One configuration request on a device held for the call; a Win32 code. */
static DWORD configure(struct wt_device *dev, enum config_op op, const struct config_args *a)
{
    if (wt_atomic_load(&dev->removed, WT_ACQUIRE))
        return ERROR_DEV_NOT_EXIST;
    switch (op) {
    case SET_MTU: {
        DWORD min = has_ipv6(dev) ? MIN_MTU_IPV6 : MIN_MTU_IPV4;
        if (a->value < min || a->value > TUN_MAX_IP_PACKET_SIZE)
            return wt_log_error(ERROR_INVALID_PARAMETER, "MTU %u of adapter \"%s\" is outside [%u, %u]", (unsigned)a->value,
                                dev->name_utf8, (unsigned)min, TUN_MAX_IP_PACKET_SIZE);
        return dev->ops->set_mtu(dev, a->value);
    }
    case GET_MTU:
        return a->out ? dev->ops->get_mtu(dev, a->out) : ERROR_INVALID_PARAMETER;
    case ADD_ADDRESS: {
        if (check_address(a->address))
            return wt_log_error(ERROR_INVALID_PARAMETER, "Not an IPv4 or IPv6 address with a valid prefix length");
        /* The rule WintunSetAdapterMtu keeps, kept here too, the same on every backend. */
        DWORD mtu;
        if (a->address->Family == AF_INET6 && !dev->ops->get_mtu(dev, &mtu) && mtu < MIN_MTU_IPV6)
            return wt_log_error(ERROR_INVALID_PARAMETER, "IPv6 needs an MTU of at least %u: adapter \"%s\" has %u",
                                MIN_MTU_IPV6, dev->name_utf8, (unsigned)mtu);
        return dev->ops->add_address(dev, a->address);
    }
    case DELETE_ADDRESS:
        return check_address(a->address) ? ERROR_INVALID_PARAMETER : dev->ops->delete_address(dev, a->address);
    case GET_ADDRESSES:
        if (!a->out || (!a->addresses && *a->out))
            return ERROR_INVALID_PARAMETER;
        return dev->ops->get_addresses(dev, a->addresses, a->out);
    case SET_UP:
        return dev->ops->set_up(dev, (BOOL)a->value);
    case GET_UP: {
        if (!a->out)
            return ERROR_INVALID_PARAMETER;
        BOOL up;
        DWORD err = dev->ops->get_up(dev, &up);
        if (!err)
            *a->out = (DWORD)up;
        return err;
    }
    }
    return ERROR_INVALID_PARAMETER;
}

static BOOL config_call(WINTUN_ADAPTER_HANDLE adapter, enum config_op op, struct config_args a)
{
    struct wt_device *dev = wt_adapter_enter(adapter);
    if (!dev)
        return FALSE;
    DWORD err = configure(dev, op, &a);
    wt_adapter_leave(adapter);
    if (err)
        SetLastError(err);
    return !err;
}

BOOL WINAPI WintunSetAdapterMtu(WINTUN_ADAPTER_HANDLE adapter, DWORD mtu)
{
    return config_call(adapter, SET_MTU, (struct config_args){ .value = mtu });
}

BOOL WINAPI WintunGetAdapterMtu(WINTUN_ADAPTER_HANDLE adapter, DWORD *mtu)
{
    return config_call(adapter, GET_MTU, (struct config_args){ .out = mtu });
}

BOOL WINAPI WintunAddAdapterAddress(WINTUN_ADAPTER_HANDLE adapter, const WINTUN_ADDRESS *address)
{
    return config_call(adapter, ADD_ADDRESS, (struct config_args){ .address = address });
}

BOOL WINAPI WintunDeleteAdapterAddress(WINTUN_ADAPTER_HANDLE adapter, const WINTUN_ADDRESS *address)
{
    return config_call(adapter, DELETE_ADDRESS, (struct config_args){ .address = address });
}

BOOL WINAPI WintunGetAdapterAddresses(WINTUN_ADAPTER_HANDLE adapter, WINTUN_ADDRESS *addresses, DWORD *count)
{
    return config_call(adapter, GET_ADDRESSES, (struct config_args){ .out = count, .addresses = addresses });
}

BOOL WINAPI WintunSetAdapterUp(WINTUN_ADAPTER_HANDLE adapter, BOOL up)
{
    return config_call(adapter, SET_UP, (struct config_args){ .value = (DWORD)!!up });
}

BOOL WINAPI WintunGetAdapterUp(WINTUN_ADAPTER_HANDLE adapter, BOOL *up)
{
    DWORD value;
    if (!config_call(adapter, GET_UP, (struct config_args){ .out = up ? &value : NULL }))
        return FALSE;
    *up = (BOOL)value;
    return TRUE;
}
