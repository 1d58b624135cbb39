/* SPDX-License-Identifier: MIT
 *
 * The subset of Win32 that Wintun's API and its users rely on, for non-Windows builds, so that a
 * program written against wintun.h compiles unchanged on Linux: the integer and string types, GUID,
 * NET_LUID, the Win32 error codes the API reports, GetLastError/SetLastError (thread-local), and
 * event objects (CreateEventW, SetEvent, ResetEvent, WaitForSingleObject, WaitForMultipleObjects,
 * CloseHandle).
 *
 * Differences from Windows, on purpose:
 * - WCHAR is wchar_t (32 bits on Linux), so L"..." literals work as they do on Windows.
 * - A HANDLE here is only ever an event made by CreateEventW or returned by
 *   WintunGetReadWaitEvent. Every event is backed by an eventfd: WintunGetEventFd() returns it,
 *   readable while the event is signalled, for poll/epoll/select/asyncio. Do not read or close
 *   that fd yourself; use WaitForSingleObject/ResetEvent/CloseHandle.
 * - Named events and security attributes are not supported (the arguments must be NULL).
 * - WaitForMultipleObjects supports bWaitAll == FALSE only.
 * - Files: CreateFileW opens an adapter's device only (wintun_device.h), and DeviceIoControl,
 *   ReadFile and WriteFile serve such a handle, without overlapped I/O. CloseHandle closes an
 *   event or a device handle; any other value gets ERROR_INVALID_HANDLE.
 * The Win32 names are macros over WintunCompat_* symbols, so the library exports nothing that
 * could collide with a real Win32 implementation.
 */
#ifndef WINTUN_WIN32COMPAT_H
#define WINTUN_WIN32COMPAT_H

#ifdef _WIN32
#error "win32compat.h is for non-Windows builds; include <windows.h> instead"
#endif

#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef int BOOL;
typedef uint8_t BYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef uint32_t ULONG;
typedef int32_t LONG;
typedef uint64_t DWORD64;
typedef uint64_t ULONG64;
typedef wchar_t WCHAR;
typedef WCHAR *LPWSTR;
typedef const WCHAR *LPCWSTR;
typedef void *HANDLE;
typedef uint16_t ADDRESS_FAMILY;
typedef void *LPVOID;
typedef const void *LPCVOID;
typedef DWORD *LPDWORD;
typedef intptr_t LPARAM;

typedef struct _OVERLAPPED
{
    uintptr_t Internal;
    uintptr_t InternalHigh;
    union
    {
        struct
        {
            DWORD Offset;
            DWORD OffsetHigh;
        };
        void *Pointer;
    };
    HANDLE hEvent;
} OVERLAPPED, *LPOVERLAPPED;

typedef struct _SECURITY_ATTRIBUTES
{
    DWORD nLength;
    LPVOID lpSecurityDescriptor;
    BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

#define INVALID_HANDLE_VALUE ((HANDLE)(intptr_t)-1)
#define GENERIC_READ 0x80000000UL
#define GENERIC_WRITE 0x40000000UL
#define FILE_SHARE_READ 0x00000001UL
#define FILE_SHARE_WRITE 0x00000002UL
#define FILE_SHARE_DELETE 0x00000004UL
#define OPEN_EXISTING 3
#define FILE_ATTRIBUTE_NORMAL 0x00000080UL
#define FILE_FLAG_OVERLAPPED 0x40000000UL

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif
#ifndef CALLBACK
#define CALLBACK
#endif
#ifndef WINAPI
#define WINAPI
#endif

typedef struct _GUID
{
    uint32_t Data1;
    uint16_t Data2;
    uint16_t Data3;
    uint8_t Data4[8];
} GUID;

/* Same bit layout as Windows' NET_LUID_LH. */
typedef union _NET_LUID_LH
{
    ULONG64 Value;
    struct
    {
        ULONG64 Reserved : 24;
        ULONG64 NetLuidIndex : 24;
        ULONG64 IfType : 16;
    } Info;
} NET_LUID_LH, NET_LUID;

/* Win32 error codes (winerror.h values). */
#define ERROR_SUCCESS 0L
#define ERROR_INVALID_FUNCTION 1L
#define ERROR_FILE_NOT_FOUND 2L
#define ERROR_PATH_NOT_FOUND 3L
#define ERROR_TOO_MANY_OPEN_FILES 4L
#define ERROR_ACCESS_DENIED 5L
#define ERROR_INVALID_HANDLE 6L
#define ERROR_NOT_ENOUGH_MEMORY 8L
#define ERROR_INVALID_DATA 13L
#define ERROR_OUTOFMEMORY 14L
#define ERROR_NOT_READY 21L
#define ERROR_SHARING_VIOLATION 32L
#define ERROR_NOT_SUPPORTED 50L
#define ERROR_DEV_NOT_EXIST 55L
#define ERROR_FILE_EXISTS 80L
#define ERROR_INVALID_PARAMETER 87L
#define ERROR_BUFFER_OVERFLOW 111L
#define ERROR_INSUFFICIENT_BUFFER 122L
#define ERROR_INVALID_NAME 123L
#define ERROR_MAX_THRDS_REACHED 164L
#define ERROR_BUSY 170L
#define ERROR_ALREADY_EXISTS 183L
#define ERROR_HANDLE_EOF 38L
#define ERROR_NO_MORE_ITEMS 259L
#define ERROR_MORE_DATA 234L
#define ERROR_VERSION_PARSE_ERROR 777L
#define ERROR_NOACCESS 998L
#define ERROR_NOT_FOUND 1168L
#define ERROR_ALREADY_INITIALIZED 1247L
#define ERROR_NETWORK_UNREACHABLE 1231L
#define ERROR_INVALID_USER_BUFFER 1784L
#define ERROR_PRIVILEGE_NOT_HELD 1314L
#define ERROR_DEVICE_NOT_AVAILABLE 4319L
#define ERROR_INF_IN_USE_BY_DEVICES 0xE000023DL
#define ERROR_GEN_FAILURE 31L
#define ERROR_TIMEOUT 1460L
#define ERROR_NOT_ENOUGH_QUOTA 1816L
#define ERROR_OBJECT_ALREADY_EXISTS 5010L

#define WAIT_OBJECT_0 0x00000000UL
#define WAIT_TIMEOUT 0x00000102UL
#define WAIT_FAILED 0xFFFFFFFFUL
#define INFINITE 0xFFFFFFFFUL
#define MAXIMUM_WAIT_OBJECTS 64

#define AF_UNSPEC_COMPAT 0

#if defined(__GNUC__) && !defined(WINTUN_STATIC)
#define WINTUN_COMPAT_API __attribute__((visibility("default")))
#else
#define WINTUN_COMPAT_API
#endif

WINTUN_COMPAT_API DWORD WintunCompat_GetLastError(void);
WINTUN_COMPAT_API void WintunCompat_SetLastError(DWORD Error);
WINTUN_COMPAT_API HANDLE WintunCompat_CreateEventW(void *EventAttributes, BOOL ManualReset, BOOL InitialState, LPCWSTR Name);
WINTUN_COMPAT_API BOOL WintunCompat_SetEvent(HANDLE Event);
WINTUN_COMPAT_API BOOL WintunCompat_ResetEvent(HANDLE Event);
WINTUN_COMPAT_API BOOL WintunCompat_CloseHandle(HANDLE Event);
WINTUN_COMPAT_API DWORD WintunCompat_WaitForSingleObject(HANDLE Event, DWORD Milliseconds);
WINTUN_COMPAT_API DWORD WintunCompat_WaitForMultipleObjects(DWORD Count, const HANDLE *Events, BOOL WaitAll, DWORD Milliseconds);
WINTUN_COMPAT_API HANDLE WintunCompat_CreateFileW(LPCWSTR FileName, DWORD DesiredAccess, DWORD ShareMode,
                                                  LPSECURITY_ATTRIBUTES SecurityAttributes, DWORD CreationDisposition,
                                                  DWORD FlagsAndAttributes, HANDLE TemplateFile);
WINTUN_COMPAT_API BOOL WintunCompat_DeviceIoControl(HANDLE Device, DWORD IoControlCode, LPVOID InBuffer, DWORD InBufferSize,
                                                    LPVOID OutBuffer, DWORD OutBufferSize, LPDWORD BytesReturned,
                                                    LPOVERLAPPED Overlapped);
WINTUN_COMPAT_API BOOL WintunCompat_ReadFile(HANDLE File, LPVOID Buffer, DWORD NumberOfBytesToRead, LPDWORD NumberOfBytesRead,
                                             LPOVERLAPPED Overlapped);
WINTUN_COMPAT_API BOOL WintunCompat_WriteFile(HANDLE File, LPCVOID Buffer, DWORD NumberOfBytesToWrite,
                                              LPDWORD NumberOfBytesWritten, LPOVERLAPPED Overlapped);

/* The pollable file descriptor behind an event (readable while signalled), or -1 with
 * ERROR_INVALID_HANDLE. Linux only; owned by the event. */
WINTUN_COMPAT_API int WintunGetEventFd(HANDLE Event);

#define GetLastError WintunCompat_GetLastError
#define SetLastError WintunCompat_SetLastError
#define CreateEventW WintunCompat_CreateEventW
#define SetEvent WintunCompat_SetEvent
#define ResetEvent WintunCompat_ResetEvent
#define CloseHandle WintunCompat_CloseHandle
#define WaitForSingleObject WintunCompat_WaitForSingleObject
#define WaitForMultipleObjects WintunCompat_WaitForMultipleObjects
#define CreateFileW WintunCompat_CreateFileW
#define DeviceIoControl WintunCompat_DeviceIoControl
#define ReadFile WintunCompat_ReadFile
#define WriteFile WintunCompat_WriteFile

#ifdef __cplusplus
}
#endif
#endif
