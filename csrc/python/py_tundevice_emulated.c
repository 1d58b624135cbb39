/* SPDX-License-Identifier: MIT
 *
 * TunDevice's emulated OS side (wintun.emulated.EmulatedOS): inject, capture, wire two adapters.
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
#include "emulated.h"

PyObject *TunDevice_emu_inject(TunDevice *self, PyObject *arg)
{
    PyObject *seq = packets_tuple(arg, "inject takes a list of bytes-like packets");
    if (!seq)
        return NULL;
    Py_ssize_t count = PyTuple_Size(seq);
    if (count < 1 || count > 256) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_ValueError, "inject takes 1 to 256 packets at once");
        return NULL;
    }
    Py_buffer views[256];
    const BYTE *packets[256];
    DWORD sizes[256];
    Py_ssize_t held = 0;
    PyObject *result = NULL;
    for (; held < count; ++held) {
        if (wt_get_buffer(PyTuple_GetItem(seq, held), &views[held], 0, "every packet") < 0)
            goto out;
        if (views[held].len > TUN_MAX_IP_PACKET_SIZE || !views[held].len) {
            ++held;
            if (views[held - 1].len)
                PyErr_Format(PyExc_ValueError, "packet of %zd bytes is larger than %u", views[held - 1].len,
                             TUN_MAX_IP_PACKET_SIZE);
            else
                PyErr_SetString(PyExc_ValueError, "an empty packet cannot be injected: the OS sends none");
            goto out;
        }
        packets[held] = views[held].buf;
        sizes[held] = (DWORD)views[held].len;
    }
    if (!adapter_of(self))
        goto out;
    wt_log_clear_last();
    if (!WintunEmulatedInjectPackets(self->adapter, packets, sizes, (DWORD)count)) {
        DWORD err = GetLastError();
        wt_raise(state_of(self), err,
                 err == ERROR_NOT_SUPPORTED ? "only an emulated adapter has an OS side to inject from"
                                            : "cannot inject the packets");
        goto out;
    }
    result = Py_NewRef(Py_None);
out:
    for (Py_ssize_t i = 0; i < held; ++i)
        PyBuffer_Release(&views[i]);
    Py_DECREF(seq);
    return result;
}

PyObject *TunDevice_emu_capture(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (!adapter_of(self))
        return NULL;
    static BYTE buffer[TUN_MAX_IP_PACKET_SIZE]; /* used with the GIL held only */
    DWORD size;
    if (!WintunEmulatedCapturePacket(self->adapter, buffer, sizeof(buffer), &size)) {
        DWORD err = GetLastError();
        if (err == ERROR_NO_MORE_ITEMS)
            Py_RETURN_NONE;
        return wt_raise(state_of(self), err, "cannot capture");
    }
    return PyBytes_FromStringAndSize((const char *)buffer, size);
}

/* Waits, with the GIL released, until the OS side may have captured a packet: True; False on
 * timeout, or when down() or close() (from any thread) ends the wait. */
PyObject *TunDevice_emu_wait_capture(TunDevice *self, PyObject *timeout)
{
    DWORD ms;
    if (parse_timeout(timeout, &ms) < 0 || !adapter_of(self))
        return NULL;
    HANDLE event = WintunEmulatedGetCaptureEvent(self->adapter);
    if (!event)
        return wt_raise(state_of(self), GetLastError(), "no capture queue");
    return wait_or_cancel(self, event, ms, "cannot wait for the capture event");
}

PyObject *TunDevice_emu_connect(TunDevice *self, PyObject *arg)
{
    if (!PyObject_TypeCheck(arg, state_of(self)->TunDeviceType)) {
        wt_type_error("can only connect to another TunDevice", arg);
        return NULL;
    }
    TunDevice *other = (TunDevice *)arg;
    if (!adapter_of(self) || !adapter_of(other))
        return NULL;
    wt_log_clear_last();
    if (!WintunEmulatedConnect(self->adapter, other->adapter)) {
        DWORD err = GetLastError();
        if (err == ERROR_INVALID_PARAMETER) {
            PyErr_SetString(PyExc_ValueError, "cannot connect an adapter to itself");
            return NULL;
        }
        return wt_raise(state_of(self), err, "cannot connect the adapters");
    }
    Py_RETURN_NONE;
}

PyObject *TunDevice_emu_disconnect(TunDevice *self, PyObject *Py_UNUSED(ignored))
{
    if (!adapter_of(self))
        return NULL;
    if (!WintunEmulatedDisconnect(self->adapter))
        return wt_raise(state_of(self), GetLastError(), "cannot disconnect");
    Py_RETURN_NONE;
}

