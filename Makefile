# ttatrace build. `make` builds build/ttatrace and the demo; `make test`, `make demo`,
# `make bench` do what they say (test/demo install missing Debian packages first).
.DELETE_ON_ERROR:
.SECONDARY:
.SUFFIXES:

ARCH ?= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
BUILD := build
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
VERSION := 0.1.0
IMAGE ?= localhost/ttatrace:$(VERSION)

ifeq ($(V),1)
Q :=
msg :=
else
Q := @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

OPT := -O2
SAN :=
ifeq ($(DEBUG),1)
OPT := -O0
SAN := -fsanitize=address,undefined -fno-omit-frame-pointer
endif

CFLAGS_COMMON := -g $(OPT) -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE \
	-DTTATRACE_VERSION='"$(VERSION)"' -Iinclude -Iuser -I$(BUILD) -MMD -MP
CFLAGS ?=
USER_CFLAGS := $(CFLAGS_COMMON) $(SAN) $(CFLAGS)
# Libraries ttatrace links; the README says why each one is there.
USER_LIBS := -lbpf -lelf -lz -lpthread -lm -lmicrohttpd -lyaml -ldw
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))

USER_SRCS := $(wildcard user/*.c)
USER_OBJS := $(patsubst user/%.c,$(BUILD)/user/%.o,$(USER_SRCS))
# objects unit tests link against: everything but the entry point, built with sanitizers
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))
ASAN_OBJS := $(patsubst user/%.c,$(BUILD)/asan/%.o,$(LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

FIXTURE_SRCS := $(wildcard tests/fixtures/*.c)
FIXTURE_LIBS := $(patsubst tests/fixtures/%.c,$(BUILD)/fixtures/%.so,$(filter tests/fixtures/lib%,$(FIXTURE_SRCS)))
FIXTURE_BINS := $(patsubst tests/fixtures/%.c,$(BUILD)/fixtures/%,$(filter-out tests/fixtures/lib%,$(FIXTURE_SRCS))) \
	$(patsubst tests/fixtures/%.cc,$(BUILD)/fixtures/%,$(wildcard tests/fixtures/*.cc)) \
	$(BUILD)/fixtures/builds_b

TOOL_BINS := $(BUILD)/workflow-demo

.PHONY: all deps test unit e2e demo demo-python bench install clean vmlinux format fuzz fuzz-build image
all: $(BUILD)/ttatrace $(TOOL_BINS)

deps:
	$(Q)bash tools/install-deps.sh

$(BUILD) $(BUILD)/user $(BUILD)/asan $(BUILD)/tests $(BUILD)/fixtures:
	$(Q)mkdir -p $@

# --- BPF: CO-RE object -> skeleton -------------------------------------------------
$(BUILD)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.bpf.h) include/ttatrace.h vmlinux/$(ARCH)/vmlinux.h | $(BUILD)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_$(ARCH) -Iinclude -Ivmlinux/$(ARCH) \
		-c $< -o $@.tmp
	$(Q)$(BPFTOOL) gen object $@ $@.tmp && rm -f $@.tmp

$(BUILD)/%.skel.h: $(BUILD)/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# --- userspace -----------------------------------------------------------------------
$(BUILD)/user/%.o: user/%.c $(SKELS) | $(BUILD)/user
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/ttatrace: $(USER_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LIBS)

$(BUILD)/workflow-demo: tools/workflow-demo.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Wextra -Werror -std=gnu11 -D_GNU_SOURCE -fno-inline-functions-called-once \
		$< -o $@ -pthread

# benchmark helpers (make bench)
$(BUILD)/bench-target: tools/bench/bench-target.c | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O2 -Wall -Wextra -Werror $< -o $@

$(BUILD)/bench-floor: tools/bench/floor.c user/uprobe_multi.c $(BUILD)/floor.skel.h \
		$(BUILD)/floor_session.skel.h | $(BUILD)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -Iuser tools/bench/floor.c user/uprobe_multi.c -o $@ $(USER_LIBS)

# collector throughput without the kernel: a replayed record stream through the user
# objects (all but main); the proto objects join it by the bench target below
$(BUILD)/collector-bench: tools/bench/collector-bench.c $(filter-out $(BUILD)/user/main.o,$(USER_OBJS)) | $(BUILD)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(USER_CFLAGS) $^ -o $@ $(USER_LIBS)

# stripped twin, for tests of explicit-offset captures
$(BUILD)/workflow-demo-stripped: $(BUILD)/workflow-demo
	$(Q)strip --strip-debug $< -o $@

# --- OTLP protobuf (generated) ---
# user/proto/*.proto -> $(BUILD)/proto/*.pb-c.[ch] (protoc-c); the objects join ttatrace,
# every unit test and the OTLP driver fixture. Owned by the OTLP exporter (user/otlp*).
PROTO_SRCS := $(wildcard user/proto/*.proto)
PROTO_GEN_C := $(patsubst user/proto/%.proto,$(BUILD)/proto/%.pb-c.c,$(PROTO_SRCS))
PROTO_GEN_H := $(PROTO_GEN_C:.c=.h)
PROTO_OBJS := $(PROTO_GEN_C:.c=.o)
PROTO_ASAN_OBJS := $(patsubst $(BUILD)/proto/%.c,$(BUILD)/asan/proto/%.o,$(PROTO_GEN_C))
OTLP_SRCS := $(wildcard user/otlp*.c)
USER_LIBS += -lprotobuf-c -lcurl -lz
ASAN_OBJS += $(PROTO_ASAN_OBJS)

# protoc-c writes one .c/.h pair per .proto; imports make every .proto a prerequisite
$(BUILD)/proto/%.pb-c.c $(BUILD)/proto/%.pb-c.h: user/proto/%.proto $(PROTO_SRCS)
	$(call msg,PROTOC,$@)
	$(Q)mkdir -p $(BUILD)/proto
	$(Q)protoc-c --proto_path=user/proto --c_out=$(BUILD)/proto $<

$(BUILD)/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c $(PROTO_GEN_H)
	$(call msg,CC,$@)
	$(Q)$(CC) $(USER_CFLAGS) -c $< -o $@

$(BUILD)/asan/proto/%.pb-c.o: $(BUILD)/proto/%.pb-c.c $(PROTO_GEN_H)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(BUILD)/asan/proto
	$(Q)$(CC) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) -c $< -o $@

$(BUILD)/ttatrace: $(PROTO_OBJS)
$(UNIT_BINS): $(PROTO_ASAN_OBJS)
$(patsubst user/%.c,$(BUILD)/user/%.o,$(OTLP_SRCS)): $(PROTO_GEN_H)
$(patsubst user/%.c,$(BUILD)/asan/%.o,$(OTLP_SRCS)): $(PROTO_GEN_H)
$(BUILD)/tests/test_otlp: $(PROTO_GEN_H)

# the driver of tests/e2e/test_otlp_*.sh feeds synthetic traces to the OTLP sinks
$(BUILD)/fixtures/otlp_driver: tests/fixtures/otlp_driver.c $(ASAN_OBJS) | $(BUILD)/fixtures
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) $^ -o $@ $(USER_LIBS)

-include $(wildcard $(BUILD)/proto/*.d $(BUILD)/asan/proto/*.d)
# --- end OTLP protobuf (generated) ---

# --- unit tests (cmocka, ASan + UBSan) -------------------------------------------------
$(BUILD)/asan/%.o: user/%.c $(SKELS) | $(BUILD)/asan
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/unit/%.c $(ASAN_OBJS) | $(BUILD)/tests
	$(call msg,TEST,$@)
	$(Q)$(CC) $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) -Itests/unit $< $(ASAN_OBJS) -o $@ \
		-lcmocka $(USER_LIBS)

$(BUILD)/fixtures/%.so: tests/fixtures/%.c | $(BUILD)/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -fPIC -shared -Wall $< -o $@

$(BUILD)/fixtures/%: tests/fixtures/%.c | $(BUILD)/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -Wall -pthread $< -o $@

# the second build of tests/fixtures/builds.c: its traced functions trade offsets
$(BUILD)/fixtures/builds_b: tests/fixtures/builds.c | $(BUILD)/fixtures
	$(call msg,CC,$@)
	$(Q)$(CC) -g -O1 -Wall -DBUILD_B $< -o $@

$(BUILD)/fixtures/%: tests/fixtures/%.cc | $(BUILD)/fixtures
	$(call msg,CXX,$@)
	$(Q)$(CXX) -g -O1 -Wall $< -o $@


# --- fuzzing (libFuzzer: clang, ASan + UBSan) -----------------------------------------
# tests/fuzz/fuzz_*.c call the production parsers; every user object but main is
# rebuilt with coverage for them. `make fuzz` runs each FUZZ_SECONDS (default 60),
# `make test` a few seconds each (tests/fuzz/run.sh). Corpora: tests/fuzz/corpus/NAME/.
FUZZ_SECONDS ?= 60
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS := $(patsubst tests/fuzz/%.c,$(BUILD)/fuzz/%,$(FUZZ_SRCS))
FUZZ_OBJS := $(patsubst user/%.c,$(BUILD)/fuzz/obj/%.o,$(LIB_SRCS)) \
	$(patsubst $(BUILD)/proto/%.c,$(BUILD)/fuzz/obj/proto/%.o,$(PROTO_GEN_C))
FUZZ_CFLAGS := $(CFLAGS_COMMON) -O1 -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer

$(BUILD)/fuzz/obj/%.o: user/%.c $(SKELS) $(PROTO_GEN_H)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/obj/proto/%.o: $(BUILD)/proto/%.c $(PROTO_GEN_H)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_OBJS)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer $< $(FUZZ_OBJS) -o $@ $(USER_LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz: $(FUZZ_BINS)
	$(Q)FUZZ_SECONDS=$(FUZZ_SECONDS) bash tests/fuzz/run.sh $(FUZZ_BINS)

export TT_BUILD_DIR := $(BUILD)
export BUILD

# test_dwarf reads the demo's DWARF
$(BUILD)/tests/test_dwarf: $(BUILD)/workflow-demo
# test_rettype classifies the return types of the errtype fixture (DWARF, none, BTF)
$(BUILD)/tests/test_rettype: $(BUILD)/fixtures/errtype $(BUILD)/fixtures/errtype-nodebug

# the errtype fixture without its DWARF: no type information, no error rule
$(BUILD)/fixtures/errtype-nodebug: $(BUILD)/fixtures/errtype
	$(Q)objcopy --strip-debug $< $@

unit: $(UNIT_BINS) $(FIXTURE_LIBS) $(FIXTURE_BINS)
	$(Q)bash tests/run-unit.sh $(UNIT_BINS)

e2e: all $(FIXTURE_LIBS) $(FIXTURE_BINS) $(BUILD)/workflow-demo-stripped $(BUILD)/fixtures/errtype-nodebug
	$(Q)bash tests/e2e/run.sh

test: deps
	$(Q)$(MAKE) --no-print-directory all $(UNIT_BINS) $(FIXTURE_LIBS) $(FIXTURE_BINS) $(BUILD)/workflow-demo-stripped \
		$(BUILD)/fixtures/errtype-nodebug $(FUZZ_BINS)
	$(Q)FUZZ_BINS="$(FUZZ_BINS)" bash tests/run-all.sh $(UNIT_BINS)

demo: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tools/demo.sh

demo-python: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)bash tools/demo-python.sh

# here, not above: PROTO_OBJS is defined in the OTLP section, after the bench helpers
$(BUILD)/collector-bench: $(PROTO_OBJS)
bench: all $(BUILD)/bench-target $(BUILD)/bench-floor $(BUILD)/collector-bench
	$(Q)bash tools/bench/run.sh
	$(Q)bash tools/bench/python.sh
	$(Q)bash tools/bench/governor.sh

# OCI image FROM scratch (podman/buildah, no registry): deploy/README.md
image: all
	$(Q)VERSION=$(VERSION) bash tools/image.sh $(IMAGE)

install: all
	install -D -m 0755 $(BUILD)/ttatrace $(DESTDIR)/usr/local/bin/ttatrace
	install -D -m 0644 tools/python/sitecustomize.py $(DESTDIR)/usr/local/lib/ttatrace/python/sitecustomize.py

vmlinux:
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > vmlinux/$(ARCH)/vmlinux.h

format:
	clang-format -i user/*.c user/*.h bpf/*.c include/*.h tests/unit/*.c tools/*.c

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/user/*.d $(BUILD)/asan/*.d $(BUILD)/*.d $(BUILD)/fuzz/obj/*.d $(BUILD)/fuzz/*.d)
