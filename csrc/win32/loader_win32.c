/* SPDX-License-Identifier: MIT */
#ifdef _WIN32
#include "loader.h"
#include "logger.h"
#include "platform.h"

#include <stdlib.h>
#include <string.h>

static const struct
{
    const char *name;
    size_t offset;
} exports[] = {
#define EXPORT(name) { #name, offsetof(WINTUN_DLL, name) }
    EXPORT(WintunCreateAdapter),        EXPORT(WintunOpenAdapter),      EXPORT(WintunCloseAdapter),
    EXPORT(WintunDeleteDriver),         EXPORT(WintunGetAdapterLUID),   EXPORT(WintunGetRunningDriverVersion),
    EXPORT(WintunSetLogger),            EXPORT(WintunStartSession),     EXPORT(WintunEndSession),
    EXPORT(WintunGetReadWaitEvent),     EXPORT(WintunReceivePacket),    EXPORT(WintunReleaseReceivePacket),
    EXPORT(WintunAllocateSendPacket),   EXPORT(WintunSendPacket),
#undef EXPORT
};

/* Which of the official zip's wintun.dll a process of this build loads: a 32-bit process (also on
 * 64-bit Windows, under WOW64) the x86 one, whose sessions the 64-bit driver serves. */
#if defined(__aarch64__) || defined(_M_ARM64)
#define WT_PROCESS_ARCH "arm64"
#define WT_WINTUN_DLL_FOLDER "bin/arm64"
#elif defined(_WIN64)
#define WT_PROCESS_ARCH "64-bit"
#define WT_WINTUN_DLL_FOLDER "bin/amd64"
#else
#define WT_PROCESS_ARCH "32-bit"
#define WT_WINTUN_DLL_FOLDER "bin/x86"
#endif

/* The folder of module (with a trailing backslash) into buf; 0 if unknown. */
static size_t module_folder(HMODULE module, WCHAR *buf, size_t size)
{
    DWORD n = GetModuleFileNameW(module, buf, (DWORD)size);
    if (!n || n >= size)
        return 0;
    while (n && buf[n - 1] != L'\\' && buf[n - 1] != L'/')
        --n;
    buf[n] = 0;
    return n;
}

static HMODULE load_from(const WCHAR *folder, size_t length)
{
    WCHAR path[MAX_PATH + 16];
    if (!length || length + 11 >= sizeof(path) / sizeof(path[0]))
        return NULL;
    memcpy(path, folder, length * sizeof(WCHAR));
    memcpy(path + length, L"wintun.dll", 11 * sizeof(WCHAR));
    return LoadLibraryExW(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
}

static HMODULE find_default(HMODULE anchor)
{
    WCHAR folder[MAX_PATH];
    HMODULE module = NULL;
    if (anchor)
        module = load_from(folder, module_folder(anchor, folder, MAX_PATH));
    if (!module)
        module = LoadLibraryExW(L"wintun.dll", NULL, LOAD_LIBRARY_SEARCH_APPLICATION_DIR | LOAD_LIBRARY_SEARCH_SYSTEM32);
    return module;
}

DWORD wt_dll_load(WINTUN_DLL *dll, LPCWSTR path, HMODULE anchor)
{
    memset(dll, 0, sizeof(*dll));
    WCHAR *from_env = NULL;
    if (!path || !*path) {
        DWORD n = GetEnvironmentVariableW(L"WINTUN_DLL", NULL, 0);
        if (n > 1 && (from_env = malloc(n * sizeof(WCHAR))) && GetEnvironmentVariableW(L"WINTUN_DLL", from_env, n) == n - 1)
            path = from_env;
    }
    char shown[MAX_PATH * 3];
    if (path && *path) {
        dll->Module = LoadLibraryExW(path, NULL, LOAD_WITH_ALTERED_SEARCH_PATH);
        if (wt_wide_to_utf8(path, shown, sizeof(shown)) < 0)
            strcpy(shown, "(the given path)");
    } else {
        dll->Module = find_default(anchor);
        strcpy(shown, "wintun.dll");
    }
    free(from_env);
    if (!dll->Module) {
        DWORD err = GetLastError();
        if (err == ERROR_MOD_NOT_FOUND || err == ERROR_FILE_NOT_FOUND || err == ERROR_PATH_NOT_FOUND)
            return wt_log_error(ERROR_MOD_NOT_FOUND, "Failed to load %s (searched: %s; this %s process needs the "
                                "official zip's %s)", shown,
                                path ? "the given path" : "the package's folder, the application's folder, System32",
                                WT_PROCESS_ARCH, WT_WINTUN_DLL_FOLDER "/wintun.dll");
        return wt_log_error(err, "Failed to load %s", shown);
    }
    for (size_t i = 0; i < sizeof(exports) / sizeof(exports[0]); ++i) {
        FARPROC proc = GetProcAddress(dll->Module, exports[i].name);
        if (!proc) {
            DWORD err = wt_log_error(ERROR_PROC_NOT_FOUND, "%s does not export %s: not a Wintun 0.14 DLL", shown,
                                     exports[i].name);
            wt_dll_unload(dll);
            return err;
        }
        memcpy((char *)dll + exports[i].offset, &proc, sizeof(proc));
    }
    return ERROR_SUCCESS;
}

void wt_dll_unload(WINTUN_DLL *dll)
{
    if (dll->Module)
        FreeLibrary(dll->Module);
    memset(dll, 0, sizeof(*dll));
}
#endif
