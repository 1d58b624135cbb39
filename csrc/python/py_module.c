/* SPDX-License-Identifier: MIT
 *
 * wintun._wintun: module state, constants, set_logger, get_driver_version.
 * Multi-phase initialisation; the logger is process-wide, like Wintun's.
 */
#include "pywintun.h"
#include "logger.h"

#include <stdlib.h>

#define WT_LIST_NAME 130

/* PyType_GetModuleByDef is not in the Stable ABI before 3.13: the MRO is walked instead, once
 * per TunDevice (which keeps the result). */
wt_state *wt_state_of_type(PyTypeObject *type)
{
    PyObject *mro = PyObject_GetAttrString((PyObject *)type, "__mro__");
    if (!mro)
        return NULL;
    wt_state *st = NULL;
    Py_ssize_t n = PyTuple_Check(mro) ? PyTuple_Size(mro) : 0;
    for (Py_ssize_t i = 0; i < n && !st; ++i) {
        PyObject *base = PyTuple_GetItem(mro, i);
        if (!PyType_Check(base) || !(PyType_GetFlags((PyTypeObject *)base) & Py_TPFLAGS_HEAPTYPE))
            continue;
        PyObject *module = PyType_GetModule((PyTypeObject *)base); /* borrowed */
        if (!module) {
            PyErr_Clear(); /* a class defined in Python */
            continue;
        }
        if (PyModule_GetDef(module) == &wt_module_def)
            st = wt_state_of_module(module);
    }
    Py_DECREF(mro);
    if (!st)
        PyErr_SetString(PyExc_TypeError, "not a subclass of wintun's TunDevice");
    return st;
}

PyObject *wt_type_error(const char *expected, PyObject *value)
{
    PyObject *type = PyObject_Type(value);
    PyObject *name = type ? PyType_GetName((PyTypeObject *)type) : NULL;
    Py_XDECREF(type);
    if (!name)
        return NULL;
    PyErr_Format(PyExc_TypeError, "%s, not %U", expected, name);
    Py_DECREF(name);
    return NULL;
}

int wt_get_buffer(PyObject *obj, Py_buffer *view, int writable, const char *what)
{
    if (PyObject_GetBuffer(obj, view, PyBUF_C_CONTIGUOUS | (writable ? PyBUF_WRITABLE : 0)) == 0)
        return 0;
    if (PyErr_ExceptionMatches(PyExc_BufferError)) {
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s must be a C-contiguous%s bytes-like object", what, writable ? ", writable" : "");
    }
    return -1;
}

static PyObject *set_logger(PyObject *module, PyObject *callback)
{
    return wt_py_set_logger(module, callback);
}

static PyObject *get_driver_version(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    wt_log_clear_last();
    DWORD version = WintunGetRunningDriverVersion();
    if (!version)
        return wt_raise(wt_state_of_module(module), GetLastError(), "cannot read the driver version");
    return PyLong_FromUnsignedLong(version);
}

/* load_dll(path=None): which wintun.dll the kernel backend uses (Windows). */
static PyObject *load_dll(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "path", NULL };
    PyObject *path = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:load_dll", kwlist, &path))
        return NULL;
    PyObject *text = NULL;
    if (path != Py_None && !(text = PyOS_FSPath(path)))
        return NULL;
    if (text && !PyUnicode_Check(text)) {
        Py_DECREF(text);
        return wt_type_error("load_dll() takes a str path, an os.PathLike or None", path);
    }
    wchar_t *wide = text ? PyUnicode_AsWideCharString(text, NULL) : NULL;
    Py_XDECREF(text);
    if (text && !wide)
        return NULL;
    wt_log_clear_last();
    BOOL ok;
    Py_BEGIN_ALLOW_THREADS /* LoadLibrary takes the loader lock */
    ok = WintunLoadDll(wide);
    Py_END_ALLOW_THREADS
    DWORD err = ok ? ERROR_SUCCESS : GetLastError();
    PyMem_Free(wide);
    if (!ok)
        return wt_raise(wt_state_of_module(module), err, "cannot load wintun.dll");
    Py_RETURN_NONE;
}

static PyObject *module_shutdown(PyObject *module, PyObject *Py_UNUSED(ignored))
{
    (void)module;
    wt_logger_shutdown();
    Py_RETURN_NONE;
}

/* split_super_packet(packet) -> list of bytes */
static PyObject *split_super_packet(PyObject *module, PyObject *arg)
{
    Py_buffer view;
    if (wt_get_buffer(arg, &view, 0, "split_super_packet()'s packet") < 0)
        return NULL;
    PyObject *result = NULL;
    BYTE *out = NULL;
    DWORD *sizes = NULL, count = 0, needed = 0;
    if (view.len > 0xFFFFFFFF) {
        PyErr_SetString(PyExc_ValueError, "split_super_packet(): not a packet of super-packet mode (too long)");
        goto done;
    }
    if (!WintunSplitSuperPacket(view.buf, (DWORD)view.len, NULL, 0, NULL, &count, &needed) &&
        GetLastError() != ERROR_INSUFFICIENT_BUFFER) {
        wt_log_clear_last();
        PyErr_SetString(PyExc_ValueError, "split_super_packet(): not a packet of super-packet mode: its virtio-net "
                                          "header and IP headers are not what the kernel makes");
        goto done;
    }
    out = PyMem_Malloc(needed ? needed : 1);
    sizes = PyMem_Malloc(count * sizeof(*sizes));
    if (!out || !sizes) {
        PyErr_NoMemory();
        goto done;
    }
    if (!WintunSplitSuperPacket(view.buf, (DWORD)view.len, out, needed, sizes, &count, &needed)) {
        wt_raise(wt_state_of_module(module), GetLastError(), "split_super_packet() failed");
        goto done;
    }
    if (!(result = PyList_New(count)))
        goto done;
    for (DWORD i = 0, offset = 0; i < count; offset += sizes[i++]) {
        PyObject *packet = PyBytes_FromStringAndSize((const char *)out + offset, sizes[i]);
        if (!packet) {
            Py_CLEAR(result);
            goto done;
        }
        PyList_SetItem(result, i, packet); /* steals packet; cannot fail at an index of a new list */
    }
done:
    PyMem_Free(out);
    PyMem_Free(sizes);
    PyBuffer_Release(&view);
    return result;
}

/* list_adapters(tunnel_type=None): this process's adapters, through WintunEnumAdapters. */
struct listed
{
    WCHAR name[WT_LIST_NAME], type[WT_LIST_NAME];
    char ifname[WT_LIST_NAME];
    WINTUN_BACKEND backend;
    NET_LUID luid;
    GUID guid;
    int up; /* -1: unknown */
};

struct listing
{
    struct listed *items;
    size_t count, room;
    int failed;
};

/* Without the GIL (a kernel adapter's state is a netlink request): C data only. */
static BOOL CALLBACK list_one(WINTUN_ADAPTER_HANDLE adapter, LPARAM param)
{
    struct listing *l = (struct listing *)param;
    if (l->count == l->room) {
        struct listed *more = realloc(l->items, (l->room = l->room ? 2 * l->room : 8) * sizeof(*more));
        if (!more) {
            l->failed = 1;
            return FALSE;
        }
        l->items = more;
    }
    struct listed *item = &l->items[l->count];
    BOOL up = FALSE;
    if (!WintunGetAdapterName(adapter, item->name, WT_LIST_NAME) || !WintunGetAdapterTunnelType(adapter, item->type, WT_LIST_NAME))
        return TRUE; /* closed meanwhile */
    if (!WintunGetAdapterInterfaceName(adapter, item->ifname, sizeof(item->ifname)))
        item->ifname[0] = 0;
    item->backend = WintunGetAdapterBackend(adapter);
    WintunGetAdapterLUID(adapter, &item->luid);
    if (!WintunGetAdapterGUID(adapter, &item->guid))
        return TRUE;
    item->up = WintunGetAdapterUp(adapter, &up) ? !!up : -1;
    ++l->count;
    return TRUE;
}

static PyObject *list_adapters(PyObject *module, PyObject *args, PyObject *kwds)
{
    static char *kwlist[] = { "tunnel_type", NULL };
    PyObject *type = Py_None;
    if (!PyArg_ParseTupleAndKeywords(args, kwds, "|O:list_adapters", kwlist, &type))
        return NULL;
    if (type != Py_None && (!PyUnicode_Check(type) || !PyUnicode_GetLength(type)))
        return wt_type_error("tunnel_type must be a non-empty str or None", type);
    wchar_t *wide = type == Py_None ? NULL : PyUnicode_AsWideCharString(type, NULL);
    if (type != Py_None && !wide)
        return NULL;
    struct listing l = { 0 };
    BOOL ok;
    wt_log_clear_last();
    Py_BEGIN_ALLOW_THREADS
    ok = WintunEnumAdapters(wide, list_one, (LPARAM)&l);
    Py_END_ALLOW_THREADS
    DWORD err = ok ? ERROR_SUCCESS : GetLastError();
    PyMem_Free(wide);
    PyObject *result = NULL;
    if (!ok || l.failed) {
        if (l.failed)
            PyErr_NoMemory();
        else
            wt_raise(wt_state_of_module(module), err, "cannot list the adapters");
        goto done;
    }
    if (!(result = PyList_New(0)))
        goto done;
    for (size_t i = 0; i < l.count; ++i) {
        const struct listed *it = &l.items[i];
        const GUID *g = &it->guid;
        PyObject *item = Py_BuildValue(
            "{s:u,s:u,s:s,s:K,s:N,s:s,s:s}", "name", it->name, "tunnel_type", it->type, "backend",
            it->backend == WINTUN_BACKEND_EMULATED ? "emulated" : "kernel", "luid", (unsigned long long)it->luid.Value, "guid",
            PyUnicode_FromFormat("%08x-%04x-%04x-%02x%02x-%02x%02x%02x%02x%02x%02x", (unsigned)g->Data1, g->Data2, g->Data3,
                                 g->Data4[0], g->Data4[1], g->Data4[2], g->Data4[3], g->Data4[4], g->Data4[5],
                                 g->Data4[6], g->Data4[7]),
            "state", it->up < 0 ? "unknown" : it->up ? "up" : "down", "ifname", it->ifname);
        if (!item || PyList_Append(result, item) < 0) {
            Py_XDECREF(item);
            Py_CLEAR(result);
            goto done;
        }
        Py_DECREF(item);
    }
done:
    free(l.items);
    return result;
}

static PyMethodDef module_methods[] = {
    { "list_adapters", (PyCFunction)(void (*)(void))list_adapters, METH_VARARGS | METH_KEYWORDS,
      "list_adapters(tunnel_type=None)\n--\n\nThis process's adapters (all, or those of one tunnel type, Wintun 0.9's\n"
      "pool, compared without case), as dicts: name, tunnel_type, backend, luid, guid, state ('up',\n"
      "'down'), ifname (the kernel's interface name, '' for an emulated adapter)." },
    { "split_super_packet", split_super_packet, METH_O,
      "split_super_packet(packet)\n--\n\nThe IP packets a packet of offload='super_packets' stands for, as a list of bytes:\n"
      "its 10-byte virtio-net header removed and, for a TCP or UDP super-packet, cut into segments as\n"
      "the kernel would (lengths, IPv4 ids, TCP sequence numbers and flags, checksums); a plain packet\n"
      "with its checksum finished. ValueError if the header or the IP headers are not what the kernel makes." },
    { "set_logger", set_logger, METH_O,
      "set_logger(callback)\n--\n\nCall callback(level, timestamp, message) for each log line, from any thread;\n"
      "None turns the C logger off. timestamp is a FILETIME (100 ns since 1601-01-01 UTC)." },
    { "get_driver_version", get_driver_version, METH_NOARGS,
      "get_driver_version()\n--\n\nThe running driver's version as (major << 16) | minor." },
    { "load_dll", (PyCFunction)(void (*)(void))load_dll, METH_VARARGS | METH_KEYWORDS,
      "load_dll(path=None)\n--\n\nWindows: load the official wintun.dll kernel adapters go through, from path, or (None)\n"
      "from WINTUN_DLL, else the package's folder, the application's folder, System32. Without\n"
      "this call the first kernel adapter loads it the default way. Elsewhere: WintunError\n"
      "(winerror 50, ERROR_NOT_SUPPORTED): the kernel backend is the system's TUN device." },
    { "_shutdown", module_shutdown, METH_NOARGS, NULL },
    { NULL, NULL, 0, NULL },
};

static int module_exec(PyObject *module)
{
    wt_state *st = wt_state_of_module(module);
    if (wt_errors_init(module, st) < 0)
        return -1;
    st->TunDeviceType = wt_tundevice_type_create(module);
    if (!st->TunDeviceType || PyModule_AddType(module, st->TunDeviceType) < 0)
        return -1;
    if (PyModule_AddIntConstant(module, "LOG_INFO", WINTUN_LOG_INFO) < 0 ||
        PyModule_AddIntConstant(module, "LOG_WARN", WINTUN_LOG_WARN) < 0 ||
        PyModule_AddIntConstant(module, "LOG_ERR", WINTUN_LOG_ERR) < 0 ||
        PyModule_AddIntConstant(module, "MIN_RING_CAPACITY", WINTUN_MIN_RING_CAPACITY) < 0 ||
        PyModule_AddIntConstant(module, "MAX_RING_CAPACITY", WINTUN_MAX_RING_CAPACITY) < 0 ||
        PyModule_AddIntConstant(module, "MAX_IP_PACKET_SIZE", WINTUN_MAX_IP_PACKET_SIZE) < 0 ||
        PyModule_AddIntConstant(module, "VNET_HDR_LEN", 10) < 0)
        return -1;
    return 0;
}

static int module_traverse(PyObject *module, visitproc visit, void *arg)
{
    wt_state *st = wt_state_of_module(module);
    Py_VISIT(st->TunDeviceType);
    return wt_errors_traverse(st, visit, arg);
}

static int module_clear(PyObject *module)
{
    wt_state *st = wt_state_of_module(module);
    Py_CLEAR(st->TunDeviceType);
    wt_errors_clear(st);
    return 0;
}

static void module_free(void *module)
{
    wt_logger_shutdown();
    module_clear(module);
}

static PyModuleDef_Slot module_slots[] = {
    { Py_mod_exec, module_exec },
    { 0, NULL },
};

PyModuleDef wt_module_def = {
    PyModuleDef_HEAD_INIT,
    .m_name = "wintun._wintun",
    .m_doc = "Wintun's session API and driver half, in C. Use the wintun package.",
    .m_size = sizeof(wt_state),
    .m_methods = module_methods,
    .m_slots = module_slots,
    .m_traverse = module_traverse,
    .m_clear = module_clear,
    .m_free = module_free,
};

PyMODINIT_FUNC PyInit__wintun(void)
{
    return PyModuleDef_Init(&wt_module_def);
}
