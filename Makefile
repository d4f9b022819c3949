# r1 — DeepSeek-R1 in C.  `make` builds ./r1 (a copy of build/r1) and build/libr1.a.
#
#   make            build the library and the CLI (-O2, warnings are errors)
#   make test       install missing Debian deps, build and run every test
#   make test SAN=1 the same under ASan+UBSan (separate build dir)
#   make MPI=1      build-mpi/r1: data-parallel training over OpenMPI (mpicc;
#                   docs/DISTRIBUTED.md). `make test` builds it too and runs the
#                   mpirun equivalence test (tests/test_mpi.c) against it.
#   make bench      benchmarks (tables on stdout)
#   make demo       the main job: tiny MoE from scratch -> R1-Zero GRPO -> chat
#   make fuzz       libFuzzer targets (clang), run briefly
#   make reference  regenerate tests/golden (logits and grad_* gradients) with the PyTorch reference (/usr/bin/python3)
#   make clean
#
# Sources are found by wildcard, so a new module file needs no Makefile edit.
# ISA files (src/kernels/x86_*.c) get their own -m flags; the rest of the code
# is baseline x86-64 so the binary runs on any CPU and picks kernels at run time.

CC      ?= cc
ARCH    := $(shell uname -m)
SAN     ?= 0
MPI     ?= 0
BUILD   := build
CFLAGS  := -std=c11 -O2 -g -Wall -Wextra -Werror -D_GNU_SOURCE -pthread -Iinclude -Isrc
# Reproducibility: no silent FMA contraction in scalar code (SIMD kernels use
# explicit intrinsics), never -ffast-math.
CFLAGS  += -ffp-contract=off -fno-math-errno
LDLIBS  := -lm -lpthread -lcjson -lpcre2-8 -lmicrohttpd
LDFLAGS := -pthread

ifeq ($(SAN),1)
BUILD   := build-san
CFLAGS  += -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif

# MPI=1 compiles with mpicc into its own dir and links src/dist/dist_mpi.c;
# every other build links dist_single.c and never sees an MPI header.
ifeq ($(MPI),1)
BUILD   := build-mpi
CC      := mpicc
DIST_SRC:= src/dist/dist_mpi.c
else
DIST_SRC:= src/dist/dist_single.c
endif

LIB_SRC  := $(shell find src -name '*.c' ! -path 'src/cli/*' ! -path 'src/dist/dist_*.c' | sort) $(DIST_SRC)
CLI_SRC  := $(shell find src/cli -name '*.c' 2>/dev/null | sort)
TEST_SRC := $(sort $(wildcard tests/test_*.c))
BENCH_SRC:= $(sort $(wildcard bench/bench_*.c))
FUZZ_SRC := $(sort $(wildcard tests/fuzz/fuzz_*.c))

LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_OBJ  := $(CLI_SRC:%.c=$(BUILD)/%.o)
TESTS    := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
BENCHES  := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
FUZZ_REPLAY := $(FUZZ_SRC:tests/fuzz/%.c=$(BUILD)/fuzz/%_replay)

ifeq ($(ARCH),x86_64)
$(addprefix $(BUILD)/src/kernels/,x86_avx2.o x86_avx2_qgemm.o x86_avx2_qact.o x86_avx2_r8.o): CFLAGS += -mavx2 -mfma -mf16c
$(addprefix $(BUILD)/src/kernels/,x86_avx512.o x86_avx512_qgemm.o x86_avx512_qact.o x86_avx512_r8.o x86_avx512_r8_gfni.o): CFLAGS += -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx512bf16 -mavx512vnni -mfma -mf16c
$(BUILD)/src/kernels/x86_avx512_r8_gfni.o: CFLAGS += -mgfni
endif

.PHONY: all test bench demo fuzz reference clean deps r1
# The binary lives in the build dir (so SAN=1 never clobbers the plain one);
# ./r1 is a copy of the plain build for the README's commands.
all: r1 $(BUILD)/libr1.a

$(BUILD)/r1: $(CLI_OBJ) $(BUILD)/libr1.a
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libr1.a $(LDLIBS)

ifneq ($(SAN)$(MPI),00)
r1: $(BUILD)/r1
else
# copy + rename: a running ./r1 keeps its old file (no "text file busy")
r1: $(BUILD)/r1
	@cmp -s $(BUILD)/r1 r1 || { cp $(BUILD)/r1 r1.tmp && mv -f r1.tmp r1; }
endif

$(BUILD)/libr1.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(wildcard tests/*.h) $(BUILD)/libr1.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests -o $@ $< $(BUILD)/libr1.a $(LDFLAGS) $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(wildcard bench/*.h) $(BUILD)/libr1.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Ibench -o $@ $< $(BUILD)/libr1.a $(LDFLAGS) $(LDLIBS) -ldl

# Fuzz targets built with a replay main(): they run the committed corpus in
# `make test` without libFuzzer.
$(BUILD)/fuzz/%_replay: tests/fuzz/%.c tests/fuzz/replay.c $(BUILD)/libr1.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< tests/fuzz/replay.c $(BUILD)/libr1.a $(LDFLAGS) $(LDLIBS)

deps:
	@scripts/deps.sh

# The MPI binary is always the plain (non-sanitized) MPI=1 build: test_mpi
# runs it under mpirun and compares it with this build's single process.
test: deps
	@$(MAKE) --no-print-directory r1 $(TESTS) $(FUZZ_REPLAY)
	@$(MAKE) --no-print-directory MPI=1 SAN=0 r1
	@R1_BIN=$(BUILD)/r1 R1_MPI_BIN=build-mpi/r1 BUILD=$(BUILD) tests/run.sh $(TESTS) $(FUZZ_REPLAY)

bench: deps
	@$(MAKE) --no-print-directory r1 $(BENCHES)
	@for b in $(BENCHES); do echo "== $$b"; $$b || exit 1; done

demo: deps r1
	./r1 demo

# libFuzzer builds (clang only): make fuzz FUZZ_SECONDS=60
FUZZ_SECONDS ?= 20
fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

reference:
	/usr/bin/python3 tests/reference/make_golden.py
	/usr/bin/python3 tests/reference/make_grad_golden.py
	/usr/bin/python3 tests/reference/make_grpo_golden.py

clean:
	rm -rf build build-san build-mpi build-fuzz r1

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d)
