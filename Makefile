# wintun: the C library, the Python package, their tests, examples and benchmarks.
#   make            build/libwintun.so, the example, the benchmark and the Python extension in place
#   make test       everything the CI runs: set-up, C tests (plain, ASan+UBSan, TSan), mingw check,
#                   the C tests built for Windows and run under Wine, Python tests
#   make demo       the README's demo: examples/example.c, then python -m wintun demo
#   make bench      the benchmarks

CC ?= cc
# Debian's interpreter, which has pytest after set-up (a pyenv python3 on PATH may not).
PYTHON ?= $(shell test -x /usr/bin/python3 && echo /usr/bin/python3 || echo python3)
BUILD ?= build
# The layers are folders, and the folders are the source lists (README "Layout"): include <- common
# <- driver (its ports in driver/emulated, driver/kernel) <- core | win32 <- python.
INCLUDES := -Icsrc/include/wintun -Icsrc/common -Idriver -Idriver/emulated -Idriver/kernel -Icsrc/core -Icsrc/win32
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes -Werror=implicit-function-declaration -fvisibility=hidden $(INCLUDES)
CFLAGS ?= -O2 -g
LDLIBS := -lpthread

PORTABLE_SRC := $(wildcard driver/*.c driver/emulated/*.c csrc/core/*.c)
CORE_SRC := $(filter-out %_win32.c,$(wildcard csrc/common/*.c)) $(PORTABLE_SRC) $(wildcard driver/kernel/*.c)
WIN_SRC := $(filter-out %_posix.c,$(wildcard csrc/common/*.c)) $(PORTABLE_SRC) $(wildcard csrc/win32/*.c)
HEADERS := $(wildcard csrc/*/*.h csrc/include/wintun/*.h driver/*.h driver/*/*.h tests/*.h)

UNIT_TESTS := test_ring test_offload test_session test_rundown test_adapter test_logger test_emulated test_icmp_echo test_event test_fuzz test_kernel test_device
STRESS_TESTS := test_stress test_chaos

.PHONY: all lib python test test-c test-asan test-tsan test-fuzz fuzz test-python check-mingw check-pyd windows windows-x64 windows-x86 test-windows demo bench setup clean

all: lib $(BUILD)/example $(BUILD)/raw_client $(BUILD)/bench_pair $(BUILD)/wintun-helper python

# The privileged helper (helper/): kernel adapters for users without CAP_NET_ADMIN.
HELPER_SRC := helper/wintun-helper.c helper/policy.c
$(BUILD)/wintun-helper: $(HELPER_SRC) $(BUILD)/plain/libwintun.a $(HEADERS) helper/policy.h | $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -o $@ $(HELPER_SRC) $(call WHOLE,$(BUILD)/plain/libwintun.a) $(LDLIBS)

PY_SRC := $(wildcard csrc/python/*.c csrc/python/*.h) setup.py
PY_EXT_STAMP := $(BUILD)/python-ext.stamp

# The extension, built in place (wintun/_wintun.*.so) with the interpreter the tests use.
python: $(PY_EXT_STAMP)

$(PY_EXT_STAMP): $(CORE_SRC) $(PY_SRC) $(HEADERS) | $(BUILD)
	rm -f wintun/_wintun.cpython-*.so   # a build from before abi3 would shadow the new one
	$(PYTHON) setup.py -q build_ext --force --inplace --build-temp $(BUILD)/py-temp  # --force: setuptools ignores headers
	@touch $@

lib: $(BUILD)/libwintun.so

$(BUILD)/libwintun.so: $(CORE_SRC) $(HEADERS) | $(BUILD)
	$(CC) $(CFLAGS_COMMON) $(CFLAGS) -fPIC -shared -o $@ $(CORE_SRC) $(LDLIBS)

# The example sees the public headers only, as an application does.
$(BUILD)/example: examples/example.c $(BUILD)/libwintun.so
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Icsrc/include/wintun $(CFLAGS) -o $@ $< -L$(BUILD) -Wl,-rpath,'$$ORIGIN' -lwintun $(LDLIBS)

# The seeds' raw client (README "From the seeds"): its own rings, then bundles; public headers only.
$(BUILD)/raw_client: examples/raw_client.c $(BUILD)/libwintun.so
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Icsrc/include/wintun $(CFLAGS) -o $@ $< -L$(BUILD) -Wl,-rpath,'$$ORIGIN' -lwintun $(LDLIBS)

$(BUILD)/bench_pair: bench/bench_pair.c $(BUILD)/plain/libwintun.a $(HEADERS) | $(BUILD)
	$(CC) $(CFLAGS_COMMON) -O2 -g -o $@ bench/bench_pair.c $(call WHOLE,$(BUILD)/plain/libwintun.a) $(LDLIBS)

$(BUILD):
	mkdir -p $@

# Three flavours: plain, ASan+UBSan, TSan. Each compiles the library once, one object per source,
# into a static archive (build/<flavour>/libwintun.a) that every test of the flavour links whole
# (--whole-archive: the constructors that register fork handlers are kept).
FLAVOUR_plain := -O2 -g
FLAVOUR_asan := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
FLAVOUR_tsan := -O1 -g -fsanitize=thread
WHOLE = -Wl,--whole-archive $(1) -Wl,--no-whole-archive
define flavour_rules
$(BUILD)/$(1)/obj/%.o: %.c $(HEADERS)
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS_COMMON) $$(FLAVOUR_$(1)) -c -o $$@ $$<
$(BUILD)/$(1)/libwintun.a: $(patsubst %.c,$(BUILD)/$(1)/obj/%.o,$(CORE_SRC))
	@rm -f $$@
	ar rcs $$@ $$^
$(BUILD)/$(1)/%: tests/%.c $(BUILD)/$(1)/libwintun.a $(HEADERS)
	@mkdir -p $$(@D)
	$(CC) $(CFLAGS_COMMON) $$(FLAVOUR_$(1)) -Itests -o $$@ $$< $$(call WHOLE,$(BUILD)/$(1)/libwintun.a) $(LDLIBS)
endef
$(foreach f,plain asan tsan,$(eval $(call flavour_rules,$(f))))

ALL_TESTS := $(UNIT_TESTS) $(STRESS_TESTS)

test-c: $(addprefix $(BUILD)/plain/,$(ALL_TESTS))
	@tests/run_c_tests.sh plain $(ALL_TESTS)

test-asan: $(addprefix $(BUILD)/asan/,$(ALL_TESTS))
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	  tests/run_c_tests.sh asan $(ALL_TESTS)

test-tsan: $(addprefix $(BUILD)/tsan/,$(ALL_TESTS))
	@TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 tests/run_c_tests.sh tsan $(ALL_TESTS)

# The core must build for Windows: every source compiled with mingw-w64.
check-mingw:
	@mkdir -p $(BUILD)/mingw
	x86_64-w64-mingw32-gcc -std=c11 -Wall -Wextra -Werror=implicit-function-declaration -O2 $(INCLUDES) \
	  -DWINTUN_BUILDING_DLL -shared -o $(BUILD)/mingw/wintun-core.dll $(WIN_SRC) $(WIN_LIBS)
	@echo "mingw-w64 build of the core: OK"

# Windows, cross-built with mingw-w64 for x64 (build/windows) and x86 (build/windows-x86: 32-bit
# processes, as under WOW64) and run under Wine (wine64, wine32):
#   wintun-portable.dll   the C library (the 14 functions and the extensions)
#   wintun-standin.dll    the same, emulated by default: a stand-in for wintun.dll to test loaders
#                         (never named wintun.dll: that name belongs to the official signed build)
#   test_*.exe            the C tests that do not depend on Linux
# On x86, DLL exports are undecorated (--kill-at), as the official x86 wintun.dll's.
WIN_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -Werror=implicit-function-declaration $(INCLUDES) -Itests
WIN_LIBS := -lbcrypt -lws2_32 -liphlpapi
WIN_TESTS := test_ring test_offload test_session test_rundown test_adapter test_logger test_emulated test_icmp_echo test_fuzz test_stress \
             test_loader test_iphelper test_native test_crt_logger
LOADER_SRC := csrc/win32/loader_win32.c csrc/common/logger.c csrc/common/spinlock.c csrc/common/platform_win32.c csrc/common/errno_map.c
IPHELPER_SRC := csrc/win32/iphelper_win32.c csrc/common/logger.c csrc/common/spinlock.c csrc/common/platform_win32.c csrc/common/errno_map.c
WIN_ARCHS := x64 x86
WIN_DIR_x64 := $(BUILD)/windows
WIN_CC_x64 := x86_64-w64-mingw32-gcc
WIN_AR_x64 := x86_64-w64-mingw32-ar
WIN_DLLFLAGS_x64 :=
WIN_DIR_x86 := $(BUILD)/windows-x86
WIN_CC_x86 := i686-w64-mingw32-gcc
WIN_AR_x86 := i686-w64-mingw32-ar
WIN_DLLFLAGS_x86 := -Wl,--kill-at
WIN_DIR := $(WIN_DIR_x64)
WIN_CC := $(WIN_CC_x64)

define windows_rules
windows-$(1): $$(WIN_DIR_$(1))/wintun-portable.dll $$(WIN_DIR_$(1))/wintun-standin.dll $$(addprefix $$(WIN_DIR_$(1))/,$$(addsuffix .exe,$$(WIN_TESTS)))

$$(WIN_DIR_$(1))/wintun-portable.dll: $$(WIN_SRC) $$(HEADERS)
	@mkdir -p $$(@D)
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -DWINTUN_BUILDING_DLL -shared -static-libgcc $$(WIN_DLLFLAGS_$(1)) -o $$@ $$(WIN_SRC) $$(WIN_LIBS) \
	  -Wl,--out-implib,$$(WIN_DIR_$(1))/libwintun-portable.dll.a

$$(WIN_DIR_$(1))/wintun-standin.dll: $$(WIN_SRC) $$(HEADERS)
	@mkdir -p $$(@D)
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -DWINTUN_BUILDING_DLL -DWT_DEFAULT_BACKEND=WINTUN_BACKEND_EMULATED -DWT_NO_NATIVE -shared \
	  -static-libgcc $$(WIN_DLLFLAGS_$(1)) -o $$@ $$(WIN_SRC) $$(WIN_LIBS)

# The loader test links the loader only: the rest comes from the DLLs it loads.
$$(WIN_DIR_$(1))/test_loader.exe: tests/test_loader.c $$(LOADER_SRC) $$(HEADERS) $$(WIN_DIR_$(1))/wintun-standin.dll $$(WIN_DIR_$(1))/wintun-missing.dll
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -o $$@ $$< $$(LOADER_SRC) -static $$(WIN_LIBS)

$$(WIN_DIR_$(1))/test_iphelper.exe: tests/test_iphelper.c $$(IPHELPER_SRC) $$(HEADERS)
	@mkdir -p $$(@D)
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -o $$@ $$< $$(IPHELPER_SRC) -static $$(WIN_LIBS)

# The flavour's archive, as the Linux ones: one object per source, linked whole by the tests.
$$(WIN_DIR_$(1))/obj/%.o: %.c $$(HEADERS)
	@mkdir -p $$(@D)
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -c -o $$@ $$<
$$(WIN_DIR_$(1))/libwintun.a: $$(patsubst %.c,$$(WIN_DIR_$(1))/obj/%.o,$$(WIN_SRC))
	@rm -f $$@
	$$(WIN_AR_$(1)) rcs $$@ $$^

# The kernel backend over the stand-in: the whole library, plus the DLLs it loads.
$$(WIN_DIR_$(1))/test_native.exe: tests/test_native.c $$(WIN_DIR_$(1))/libwintun.a $$(HEADERS) $$(WIN_DIR_$(1))/wintun-standin.dll $$(WIN_DIR_$(1))/wintun-missing.dll
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -o $$@ $$< $$(call WHOLE,$$(WIN_DIR_$(1))/libwintun.a) -static -lpthread $$(WIN_LIBS)

# Wintun's example flow with a CRT logger, the library loaded with LoadLibraryExW: only the DLLs.
$$(WIN_DIR_$(1))/test_crt_logger.exe: tests/test_crt_logger.c $$(HEADERS) $$(WIN_DIR_$(1))/wintun-standin.dll $$(WIN_DIR_$(1))/wintun-portable.dll
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -o $$@ $$<

$$(WIN_DIR_$(1))/wintun-missing.dll: tests/missing_export.c
	@mkdir -p $$(@D)
	$$(WIN_CC_$(1)) -shared $$(WIN_DLLFLAGS_$(1)) -o $$@ $$<

$$(WIN_DIR_$(1))/%.exe: tests/%.c $$(WIN_DIR_$(1))/libwintun.a $$(HEADERS)
	@mkdir -p $$(@D)
	$$(WIN_CC_$(1)) $$(WIN_CFLAGS) -o $$@ $$< $$(call WHOLE,$$(WIN_DIR_$(1))/libwintun.a) -static -lpthread $$(WIN_LIBS)
endef
$(foreach a,$(WIN_ARCHS),$(eval $(call windows_rules,$(a))))

windows: $(addprefix windows-,$(WIN_ARCHS))

# The Python extension's Windows build, compiled and linked (not run: there is no Windows CPython
# here) against CPython 3.11's headers and a python3.dll import library: abi3, as setup.py builds it.
PY_C_SRC := $(wildcard csrc/python/*.c)
CPYTHON := $(BUILD)/cpython
check-pyd: $(WIN_DIR)/_wintun.pyd
	@x86_64-w64-mingw32-objdump -p $< | grep -q 'DLL Name: python3.dll' || { echo "the .pyd does not import python3.dll"; exit 1; }
	@! x86_64-w64-mingw32-objdump -p $< | grep -q 'DLL Name: python3[0-9]' || { echo "the .pyd is not abi3"; exit 1; }
	@x86_64-w64-mingw32-objdump -p $< | grep -q 'PyInit__wintun' || { echo "the .pyd lacks PyInit__wintun"; exit 1; }
	@exports=$$(x86_64-w64-mingw32-objdump -p $< | sed -n '/\[Ordinal\/Name Pointer\] Table/,/^$$/p' | grep -c '\[ *[0-9]'); \
	  [ "$$exports" -eq 1 ] || { echo "the .pyd exports $$exports symbols, not PyInit__wintun alone"; exit 1; }
	@echo "Windows .pyd (abi3, imports python3.dll, exports PyInit__wintun only): built and linked, not run"

$(WIN_DIR)/_wintun.pyd: $(WIN_SRC) $(PY_C_SRC) $(HEADERS)
	@mkdir -p $(@D)
	@scripts/cpython_headers.sh $(CPYTHON) >/dev/null
	$(WIN_CC) $(WIN_CFLAGS) -Werror -Wno-missing-field-initializers -shared -DMS_WIN64 -DPy_LIMITED_API=0x030B0000 -DWINTUN_STATIC \
	  -DWIN32_LEAN_AND_MEAN -I$(CPYTHON)/Include -I$(CPYTHON)/PC -static-libgcc -o $@ $(WIN_SRC) $(PY_C_SRC) \
	  -L$(CPYTHON) -lpython3 $(WIN_LIBS)

# A line per architecture; x86 needs wine32 (scripts/setup.sh says why when it could not install it).
test-windows:
	@$(MAKE) --no-print-directory -j2 windows >/dev/null  # two architectures' builds, both cores
	@tests/run_windows_tests.sh $(WIN_DIR_x64) x64 $(WIN_TESTS)
	@tests/run_windows_tests.sh $(WIN_DIR_x86) x86 $(WIN_TESTS)

setup:
	@scripts/setup.sh

test-python: python $(BUILD)/wintun-helper $(BUILD)/example $(BUILD)/raw_client
	@tests/run_python_tests.sh $(PYTHON) -q

test: setup
	$(MAKE) test-c test-asan test-tsan test-fuzz check-mingw check-pyd test-windows test-python

demo: setup
	$(MAKE) $(BUILD)/example $(BUILD)/raw_client python
	WINTUN_BACKEND=emulated $(BUILD)/example --count 3 --interval 200
	WINTUN_BACKEND=emulated $(BUILD)/raw_client --count 3
	PYTHONPATH=$(CURDIR) $(PYTHON) -m wintun demo

# The benchmarks' baselines in C (bench/bench_module.c): a module of their own, never shipped.
PY_INCLUDE := $(shell $(PYTHON) -c "import sysconfig; print(sysconfig.get_paths()['include'])" 2>/dev/null)
BENCH_MODULE := $(BUILD)/bench/_wintun_bench.abi3.so
$(BENCH_MODULE): bench/bench_module.c | $(BUILD)
	@mkdir -p $(@D)
	$(CC) -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wno-missing-field-initializers -O2 -fPIC -shared -I$(PY_INCLUDE) -o $@ $<

bench: $(BUILD)/bench_pair python $(BENCH_MODULE)
	$(BUILD)/bench_pair --repeat 5
	$(PYTHON) bench/bench_python.py --repeat 5
	@if [ "$$(id -u)" = 0 ]; then $(PYTHON) bench/bench_kernel.py --repeat 3; else echo "bench_kernel.py needs root: skipped"; fi

clean:
	rm -rf $(BUILD) wintun/_wintun*.so

# Coverage-guided fuzzing with libFuzzer (Debian's clang), under ASan+UBSan: the driver's
# Receive-ring consumer, the client's Send-ring parser, the netlink reply parser, the echo
# responder, wintun-helper's request parser, the offloads' splitter and coalescer, WriteFile's bundle parser. make test runs each for FUZZ_SECONDS from the corpus in tests/fuzz/corpus/<name>,
# keeping what it finds in the build folder; make fuzz runs longer and grows the corpus itself.
FUZZERS := fuzz_receive_ring fuzz_send_ring fuzz_netlink fuzz_icmp_echo fuzz_helper_request fuzz_offload fuzz_bundle
FUZZ_CC := clang
FUZZ_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
FUZZ_SECONDS ?= 15

FUZZ_LIB_FLAGS := -g -O1 -fno-omit-frame-pointer -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
$(BUILD)/fuzz/obj/%.o: %.c $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS_COMMON) $(FUZZ_LIB_FLAGS) -c -o $@ $<
$(BUILD)/fuzz/libwintun.a: $(patsubst %.c,$(BUILD)/fuzz/obj/%.o,$(CORE_SRC))
	@rm -f $@
	ar rcs $@ $^
$(BUILD)/fuzz/%: tests/fuzz/%.c $(BUILD)/fuzz/libwintun.a $(HEADERS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(CFLAGS_COMMON) -Itests $(FUZZ_FLAGS) -o $@ $< $(call WHOLE,$(BUILD)/fuzz/libwintun.a) $(LDLIBS)

test-fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZERS))
	@tests/run_fuzzers.sh $(BUILD)/fuzz $(FUZZ_SECONDS) $(BUILD)/fuzz-found $(FUZZERS)

fuzz: $(addprefix $(BUILD)/fuzz/,$(FUZZERS))
	@tests/run_fuzzers.sh $(BUILD)/fuzz $${FUZZ_SECONDS:-300} tests/fuzz/corpus $(FUZZERS)
