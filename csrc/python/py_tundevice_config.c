/* SPDX-License-Identifier: MIT
 *
 * TunDevice's identity and configuration: names, backend, LUID, GUID, MTU, ring capacity, state,
 * and the primitives the Python layer builds addresses and statistics on.
 */
#include "py_tundevice.h"
#include "ip.h"
#include "logger.h"
#include "platform.h"
#include "ring.h"

#include <string.h>
#ifndef _WIN32
#include <sys/socket.h>
#endif

/* ---- properties ---- */

PyObject *TunDevice_get_name(TunDevice *self, void *c) { (void)c; return Py_NewRef(self->name ? self->name : Py_None); }
PyObject *TunDevice_get_tunnel_type(TunDevice *self, void *c)
{
    (void)c;
    return Py_NewRef(self->tunnel_type ? self->tunnel_type : Py_None);
}

PyObject *TunDevice_get_netns(TunDevice *self, void *c)
{
    (void)c;
    return Py_NewRef(self->netns ? self->netns : Py_None);
}

/* The kernel's name of the interface, read from the OS; None where there is none. */
PyObject *TunDevice_get_ifname(TunDevice *self, void *c)
{
    (void)c;
    if (!adapter_of(self))
        return NULL;
    char name[64];
    BOOL ok;
    WITHOUT_GIL(ok, WintunGetAdapterInterfaceName(self->adapter, name, sizeof(name)));
    if (ok)
        return PyUnicode_DecodeFSDefault(name);
    DWORD err = GetLastError();
    if (err == ERROR_NOT_SUPPORTED) {
        wt_log_clear_last();
        Py_RETURN_NONE;
    }
    return wt_raise(state_of(self), err, "cannot read the interface's name");
}

PyObject *TunDevice_netns_fds(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (!adapter_of(self))
        return NULL;
    int netns_fd, userns_fd;
    if (!WintunGetAdapterNetns(self->adapter, &netns_fd, &userns_fd))
        return wt_raise(state_of(self), GetLastError(), "only a kernel adapter lives in a network namespace");
    return Py_BuildValue("(ii)", netns_fd, userns_fd);
}

PyObject *TunDevice_get_backend(TunDevice *self, void *c)
{
    (void)c;
    if (!adapter_of(self))
        return NULL;
    return PyUnicode_FromString(WintunGetAdapterBackend(self->adapter) == WINTUN_BACKEND_EMULATED ? "emulated" : "kernel");
}

PyObject *TunDevice_get_luid(TunDevice *self, void *c)
{
    (void)c;
    if (!adapter_of(self))
        return NULL;
    NET_LUID luid;
    WintunGetAdapterLUID(self->adapter, &luid);
    return PyLong_FromUnsignedLongLong(luid.Value);
}

PyObject *TunDevice_get_guid_str(TunDevice *self, void *c)
{
    (void)c;
    if (!adapter_of(self))
        return NULL;
    GUID g;
    if (!WintunGetAdapterGUID(self->adapter, &g))
        return wt_raise(state_of(self), GetLastError(), "cannot read the GUID");
    return PyUnicode_FromFormat("%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned)g.Data1, g.Data2, g.Data3,
                                g.Data4[0], g.Data4[1], g.Data4[2], g.Data4[3], g.Data4[4], g.Data4[5], g.Data4[6],
                                g.Data4[7]);
}

/* ---- offloads ---- */

static const char *const offload_names[] = { "none", "transparent", "super_packets" };

int parse_offload(PyObject *value, WINTUN_OFFLOAD_MODE *mode)
{
    if (PyBool_Check(value)) {
        *mode = value == Py_True ? WINTUN_OFFLOAD_SUPER_PACKETS : WINTUN_OFFLOAD_NONE;
        return 0;
    }
    if (!PyUnicode_Check(value)) {
        wt_type_error("offload must be True, False, 'none', 'transparent' or 'super_packets'", value);
        return -1;
    }
    for (unsigned i = 0; i < sizeof(offload_names) / sizeof(offload_names[0]); ++i) {
        if (!PyUnicode_CompareWithASCIIString(value, offload_names[i])) {
            *mode = (WINTUN_OFFLOAD_MODE)i;
            return 0;
        }
    }
    PyErr_Format(PyExc_ValueError, "offload must be True, False, 'none', 'transparent' or 'super_packets', not %R", value);
    return -1;
}

int set_offload_mode(TunDevice *self, WINTUN_ADAPTER_HANDLE adapter, WINTUN_OFFLOAD_MODE mode)
{
    BOOL ok;
    wt_log_clear_last();
    WITHOUT_GIL(ok, WintunSetAdapterOffload(adapter, mode));
    if (ok)
        return 0;
    DWORD err = GetLastError();
    wt_raise(state_of(self), err,
             err == ERROR_BUSY ? "offload changes only while the adapter is down"
             : err == ERROR_NOT_SUPPORTED ? "this adapter has no offloads (emulated, Windows, or WINTUN_OFFLOAD=off)"
                                          : "cannot set the offload mode");
    return -1;
}

PyObject *TunDevice_get_offload(TunDevice *self, void *c)
{
    (void)c;
    if (!adapter_of(self))
        return NULL;
    WINTUN_ADAPTER_HANDLE adapter = self->adapter; /* GIL released: close() may run meanwhile */
    WINTUN_OFFLOAD_MODE mode;
    BOOL ok;
    WITHOUT_GIL(ok, WintunGetAdapterOffload(adapter, &mode, NULL)); /* the registration lock */
    if (!ok)
        return wt_raise(state_of(self), GetLastError(), "cannot read the offload mode");
    return PyUnicode_FromString(offload_names[mode]);
}

int TunDevice_set_offload(TunDevice *self, PyObject *value, void *c)
{
    (void)c;
    WINTUN_OFFLOAD_MODE mode;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "offload cannot be deleted");
        return -1;
    }
    if (parse_offload(value, &mode) < 0 || !adapter_of(self))
        return -1;
    return set_offload_mode(self, self->adapter, mode);
}

PyObject *TunDevice_get_kernel_offloads(TunDevice *self, void *c)
{
    (void)c;
    if (!adapter_of(self))
        return NULL;
    WINTUN_ADAPTER_HANDLE adapter = self->adapter;
    WINTUN_OFFLOAD_MODE mode;
    DWORD offloads;
    BOOL ok;
    WITHOUT_GIL(ok, WintunGetAdapterOffload(adapter, &mode, &offloads));
    if (!ok)
        return wt_raise(state_of(self), GetLastError(), "cannot read the offloads");
    return PyLong_FromUnsignedLong(offloads);
}

PyObject *TunDevice_get_mtu(TunDevice *self, void *c)
{
    (void)c;
    if (!adapter_of(self))
        return NULL;
    DWORD mtu;
    wt_log_clear_last();
    WINTUN_ADAPTER_HANDLE adapter = self->adapter; /* GIL released: close() may run meanwhile */
    BOOL ok;
    WITHOUT_GIL(ok, WintunGetAdapterMtu(adapter, &mtu));
    if (!ok)
        return wt_raise(state_of(self), GetLastError(), "cannot read the MTU");
    return PyLong_FromUnsignedLong(mtu);
}

int TunDevice_set_mtu(TunDevice *self, PyObject *value, void *c)
{
    (void)c;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "mtu cannot be deleted");
        return -1;
    }
    if (!PyLong_Check(value) || PyBool_Check(value)) {
        wt_type_error("mtu must be an int", value);
        return -1;
    }
    int overflow;
    long mtu = PyLong_AsLongAndOverflow(value, &overflow); /* a huge int is a bad value, no OverflowError */
    if (mtu == -1 && PyErr_Occurred())
        return -1;
    if (!adapter_of(self))
        return -1;
    if (overflow || mtu < 68 || mtu > 65535) {
        PyErr_Format(PyExc_ValueError, "mtu must be between 68 and 65535 (1280 with IPv6), not %R", value);
        return -1;
    }
    wt_log_clear_last();
    WINTUN_ADAPTER_HANDLE adapter = self->adapter; /* GIL released: close() may run meanwhile */
    BOOL ok;
    WITHOUT_GIL(ok, WintunSetAdapterMtu(adapter, (DWORD)mtu));
    if (!ok) {
        DWORD err = GetLastError();
        if (err == ERROR_INVALID_PARAMETER) {
            PyErr_Format(PyExc_ValueError, "mtu %ld refused: %s", mtu, wt_log_last_error());
            wt_log_clear_last();
        } else {
            wt_raise(state_of(self), err, "cannot set the MTU");
        }
        return -1;
    }
    return 0;
}

PyObject *TunDevice_get_ring_capacity(TunDevice *self, void *c)
{
    (void)c;
    return PyLong_FromUnsignedLong(self->ring_capacity);
}

int TunDevice_set_ring_capacity(TunDevice *self, PyObject *value, void *c)
{
    (void)c;
    if (!value) {
        PyErr_SetString(PyExc_AttributeError, "ring_capacity cannot be deleted");
        return -1;
    }
    return parse_capacity(value, &self->ring_capacity);
}

PyObject *TunDevice_get_is_up(TunDevice *self, void *c)
{
    (void)c;
    if (!self->adapter || !self->session)
        Py_RETURN_FALSE;
    BOOL up;
    WINTUN_ADAPTER_HANDLE adapter = self->adapter; /* GIL released: close() may run meanwhile */
    BOOL ok;
    WITHOUT_GIL(ok, WintunGetAdapterUp(adapter, &up));
    if (!ok)
        return wt_raise(state_of(self), GetLastError(), "cannot read the link state");
    return PyBool_FromLong(up);
}

PyObject *TunDevice_get_closed(TunDevice *self, void *c)
{
    (void)c;
    return PyBool_FromLong(self->adapter == NULL);
}

/* ---- primitives the Python layer builds on: addresses, statistics, the emulated OS side ---- */

PyObject *TunDevice_addresses_raw(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (!adapter_of(self))
        return NULL;
    WINTUN_ADDRESS addresses[WINTUN_MAX_ADDRESSES];
    DWORD count = WINTUN_MAX_ADDRESSES;
    wt_log_clear_last();
    WINTUN_ADAPTER_HANDLE adapter = self->adapter; /* GIL released: close() may run meanwhile */
    BOOL ok;
    WITHOUT_GIL(ok, WintunGetAdapterAddresses(adapter, addresses, &count));
    if (!ok)
        return wt_raise(state_of(self), GetLastError(), "cannot read the addresses");
    PyObject *list = PyList_New(count);
    if (!list)
        return NULL;
    for (DWORD i = 0; i < count; ++i) {
        int v6 = addresses[i].Family == AF_INET6;
        PyObject *item = Py_BuildValue("(iy#i)", v6 ? 6 : 4, addresses[i].Address, (Py_ssize_t)(v6 ? 16 : 4),
                                       addresses[i].PrefixLength);
        if (!item) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SetItem(list, i, item);
    }
    return list;
}

static int address_from_args(PyObject *args, WINTUN_ADDRESS *address)
{
    int version, prefix;
    Py_buffer packed;
    if (!PyArg_ParseTuple(args, "iy*i", &version, &packed, &prefix))
        return -1;
    memset(address, 0, sizeof(*address));
    Py_ssize_t want = version == 4 ? 4 : version == 6 ? 16 : -1;
    int max_prefix = version == 4 ? 32 : 128;
    if (want < 0 || packed.len != want || prefix < 0 || prefix > max_prefix) {
        PyBuffer_Release(&packed);
        PyErr_SetString(PyExc_ValueError, "invalid address");
        return -1;
    }
    address->Family = version == 4 ? AF_INET : AF_INET6;
    address->PrefixLength = (BYTE)prefix;
    memcpy(address->Address, packed.buf, (size_t)want);
    PyBuffer_Release(&packed);
    return 0;
}

/* WintunAddAdapterAddress or WintunDeleteAdapterAddress, with the GIL released. */
static PyObject *address_call(TunDevice *self, PyObject *args, int add)
{
    WINTUN_ADDRESS address;
    if (address_from_args(args, &address) < 0 || !adapter_of(self))
        return NULL;
    wt_log_clear_last();
    WINTUN_ADAPTER_HANDLE adapter = self->adapter; /* GIL released: close() may run meanwhile */
    BOOL ok;
    WITHOUT_GIL(ok, add ? WintunAddAdapterAddress(adapter, &address) : WintunDeleteAdapterAddress(adapter, &address));
    if (ok)
        Py_RETURN_NONE;
    DWORD err = GetLastError();
    if (add && err == ERROR_INVALID_PARAMETER) {
        PyErr_Format(PyExc_ValueError, "address refused: %s", wt_log_last_error()); /* IPv6 under MTU 1280 */
        wt_log_clear_last();
        return NULL;
    }
    return wt_raise(state_of(self), err, add ? "cannot add the address" : "cannot remove the address");
}

PyObject *TunDevice_add_address_raw(TunDevice *self, PyObject *args) { return address_call(self, args, 1); }

PyObject *TunDevice_delete_address_raw(TunDevice *self, PyObject *args) { return address_call(self, args, 0); }

PyObject *TunDevice_statistics_raw(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (!adapter_of(self))
        return NULL;
    WINTUN_ADAPTER_STATISTICS s;
    if (!WintunGetAdapterStatistics(self->adapter, &s))
        return wt_raise(state_of(self), GetLastError(), "cannot read the statistics");
    /* write() and write_batch() count the packets they drop on a full ring with the OS side's. */
    return Py_BuildValue("(KKKKKKKKKK)", s.SendPackets, s.SendBytes, s.SendDrops, s.SendErrors, s.ReceivePackets,
                         s.ReceiveBytes, s.ReceiveDiscards, s.ReceiveDrops + self->write_drops, s.ReceiveErrors,
                         s.SendUnread);
}

