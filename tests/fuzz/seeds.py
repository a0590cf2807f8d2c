#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes the committed seed corpus of the libFuzzer harnesses.

    tests/fuzz/seeds.py [DIR]      (default: tests/fuzz/corpus)

One directory per harness, DIR/<harness>/<name>, each file a small
well-formed input that reaches deep into its parser: a driver bringing
each device up on each transport and sending it requests, rings with
direct and indirect chains, Image/ELF/gzip files, typical command lines
and option strings.  The input formats are the ones described at the top
of each tests/fuzz/fuzz-<harness>.c; keep the two in step.  The fuzzer
grows its own corpus from these (make fuzz: build/fuzz/corpus/); only
these seeds are committed, and "make check" replays them.
"""
import gzip
import os
import struct
import zlib
import sys

OUT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def put(harness, name, data):
    d = os.path.join(OUT, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


# ---- a 9P2000.L client (fuzz-9p, and virtio-9p in fuzz-transport) ----------

NOFID = 0xffffffff


class P9:
    """A 9P2000.L client's T-messages, as fuzz-9p reads them: u16 length, message."""

    def __init__(self):
        self.tag = 0
        self.out = b""

    def msg(self, typ, body, tag=None):
        if tag is None:
            self.tag += 1
            tag = self.tag
        m = struct.pack("<IBH", 7 + len(body), typ, tag) + body
        self.out += struct.pack("<H", len(m)) + m
        return self

    @staticmethod
    def s(text):
        b = text.encode()
        return struct.pack("<H", len(b)) + b

    def version(self, msize=8192):
        return self.msg(100, struct.pack("<I", msize) + self.s("9P2000.L"), 0xffff)

    def attach(self, fid):
        return self.msg(104, struct.pack("<II", fid, NOFID) + self.s("root") + self.s("") +
                        struct.pack("<I", 0))

    def walk(self, fid, newfid, *names):
        return self.msg(110, struct.pack("<IIH", fid, newfid, len(names)) +
                        b"".join(self.s(n) for n in names))

    def lopen(self, fid, flags):
        return self.msg(12, struct.pack("<II", fid, flags))

    def read(self, fid, off, count, typ=116):
        return self.msg(typ, struct.pack("<IQI", fid, off, count))

    def write(self, fid, off, data):
        return self.msg(118, struct.pack("<IQI", fid, off, len(data)) + data)

    def lcreate(self, fid, name, flags=0o102, mode=0o644):
        return self.msg(14, struct.pack("<I", fid) + self.s(name) + struct.pack("<III", flags, mode, 0))

    def mkdir(self, dfid, name):
        return self.msg(72, struct.pack("<I", dfid) + self.s(name) + struct.pack("<II", 0o755, 0))

    def symlink(self, dfid, name, target):
        return self.msg(16, struct.pack("<I", dfid) + self.s(name) + self.s(target) +
                        struct.pack("<I", 0))

    def fidop(self, typ, fid):
        return self.msg(typ, struct.pack("<I", fid))

    def getattr(self, fid):
        return self.msg(24, struct.pack("<IQ", fid, 0x3fff))

    def setattr(self, fid, valid, mode=0o600, size=0):
        return self.msg(26, struct.pack("<IIIIIQQQQQ", fid, valid, mode, 0, 0, size, 0, 0, 0, 0))

    def renameat(self, olddfid, old, newdfid, new):
        return self.msg(74, struct.pack("<I", olddfid) + self.s(old) + struct.pack("<I", newdfid) +
                        self.s(new))

    def unlinkat(self, dfid, name, flags=0):
        return self.msg(76, struct.pack("<I", dfid) + self.s(name) + struct.pack("<I", flags))

    def link(self, dfid, fid, name):
        return self.msg(70, struct.pack("<II", dfid, fid) + self.s(name))

    def lock(self, fid, typ=1):
        return self.msg(52, struct.pack("<IBIQQI", fid, typ, 0, 0, 10, 1) + self.s("lkvm"))

    def getlock(self, fid):
        return self.msg(54, struct.pack("<IBQQI", fid, 0, 0, 10, 1) + self.s("lkvm"))

    def xattrwalk(self, fid, newfid, name):
        return self.msg(30, struct.pack("<II", fid, newfid) + self.s(name))

    def mknod(self, dfid, name):
        return self.msg(18, struct.pack("<I", dfid) + self.s(name) +
                        struct.pack("<IIII", 0o20644, 1, 3, 0))


# ---- fuzz-transport ---------------------------------------------------------

TRANSPORTS = ["mmio", "pci-msix", "pci-intx"]
DEVS = ["blk", "blk-uring", "blk-ro", "rng", "console", "net", "net-vhost", "9p", "balloon",
        "vsock"]
(OP_WRITE, OP_READ, OP_CFG_WRITE, OP_CFG_READ, OP_PCFG, OP_RAM, OP_POLL, OP_SETUP, OP_KICK,
 OP_DESC, OP_OFFER, OP_INPUT, OP_RESET, OP_MSIX, OP_VHOST_FAIL, OP_VHOST_CALL, OP_HOST) = range(17)
QUICK = 0x40
F_NEXT, F_WRITE, F_INDIRECT = 1, 2, 4


def rec(op, length=0, aux=0, off=0, val=0):
    return struct.pack("<BBHIQ", op, length, aux, off & 0xffffffff, val & 0xffffffffffffffff)


def desc(q, i, addr, length, flags=0, nxt=0):
    return rec(OP_DESC, 0, q | i << 4, addr, length | flags << 32 | nxt << 48)


def ram(addr, data):
    """OP_RAM records writing @data (up to 8 bytes each) at guest address @addr."""
    out = b""
    for k in range(0, len(data), 8):
        piece = data[k:k + 8]
        out += rec(OP_RAM, len(piece) - 1, 0, addr + k, int.from_bytes(piece, "little"))
    return out


def blk_req(q, head, hdr_at, typ, sector, data_at, data_len, write, status_at, quick=False):
    r = ram(hdr_at, struct.pack("<IIQ", typ, 0, sector))
    r += desc(q, head, hdr_at, 16, F_NEXT, head + 1)
    if data_len:
        r += desc(q, head + 1, data_at, data_len, F_NEXT | (0 if write else F_WRITE), head + 2)
        r += desc(q, head + 2, status_at, 1, F_WRITE)
    else:
        r += desc(q, head + 1, status_at, 1, F_WRITE)
    return r + rec(OP_OFFER, QUICK if quick else 0, q, 0, head)


def transport_seed(t, d):
    recs = []
    # All features the device offers, every queue of 16 entries, DRIVER_OK.
    recs.append(rec(OP_SETUP, 0, 0, 0x44444444, ~0))
    if TRANSPORTS[t] == "pci-msix":
        for v in range(3):
            recs.append(rec(OP_MSIX, 0, 0x40 + v, v, 0xfee00000 + 0x1000 * v))
    dev = DEVS[d]
    if dev.startswith("blk"):
        # IN sector 1 (512 bytes), OUT sector 2 (readable data), FLUSH, GET_ID, DISCARD.
        recs.append(blk_req(0, 0, 0x4000, 0, 1, 0x4100, 512, False, 0x4400))
        recs.append(blk_req(0, 3, 0x4010, 1, 2, 0x4800, 512, True, 0x4401))
        recs.append(blk_req(0, 6, 0x4020, 4, 0, 0, 0, False, 0x4402))
        recs.append(blk_req(0, 8, 0x4030, 8, 0, 0x4a00, 20, False, 0x4403))
        recs.append(ram(0x4c00, struct.pack("<QII", 4, 8, 0)))
        recs.append(blk_req(0, 11, 0x4040, 11, 0, 0x4c00, 16, True, 0x4404))
        if dev != "blk-ro":
            # A read on the second queue, its buffer across the RAM's two regions.
            recs.append(blk_req(1, 0, 0x7f00, 0, 3, 0x7f80, 512, False, 0x6000))
            # Reset with reads in flight on the disk's threads.
            recs.append(rec(OP_SETUP, 0, 0, 0x44444444, ~0))
            recs.append(blk_req(0, 0, 0x4000, 0, 1, 0x4100, 512, False, 0x4400, True))
            recs.append(blk_req(0, 3, 0x4010, 0, 9, 0x4800, 512, False, 0x4401, True))
    elif dev == "rng":
        recs.append(desc(0, 0, 0x4000, 64, F_WRITE))
        recs.append(rec(OP_OFFER, 0, 0, 0, 0))
    elif dev == "9p":
        # Three requests, each a readable message and a writable reply buffer.
        msgs = P9().version().attach(0).walk(0, 1, "file").lopen(1, 0).read(1, 0, 64)
        raw, at, head = msgs.out, 0x4000, 0
        while raw:
            n = struct.unpack_from("<H", raw)[0]
            m, raw = raw[2:2 + n], raw[2 + n:]
            recs.append(ram(at, m))
            recs.append(desc(0, head, at, len(m), F_NEXT, head + 1))
            recs.append(desc(0, head + 1, at + 0x400, 0x400, F_WRITE))
            recs.append(rec(OP_OFFER, 0, 0, 0, head))
            at, head = at + 0x800, head + 2
    elif dev == "balloon":
        # Inflate four frames (one not RAM), deflate one, statistics, the host's side.
        recs.append(ram(0x4000, struct.pack("<IIIII", 8, 9, 15, 0x7fff, 9)))
        recs.append(desc(0, 0, 0x4000, 16))
        recs.append(rec(OP_OFFER, 0, 0, 0, 0))
        recs.append(desc(1, 0, 0x4010, 4))
        recs.append(rec(OP_OFFER, 0, 1, 0, 0))
        recs.append(ram(0x5000, struct.pack("<HQHQ", 0, 4096, 4, 1 << 20)))
        recs.append(desc(2, 0, 0x5000, 20))
        recs.append(rec(OP_OFFER, 0, 2, 0, 0))
        recs.append(rec(OP_HOST, 0, 0, 0, 64))
        recs.append(rec(OP_HOST, 1, 0, 0, 0))
        recs.append(rec(OP_HOST, 0, 0, 0, -32))
    elif dev == "vsock":
        # rx and tx go to the fake vhost at DRIVER_OK; the event queue is lkvm's.
        recs.append(desc(2, 0, 0x4000, 8, F_WRITE))
        recs.append(rec(OP_OFFER, 0, 2, 0, 0))
        recs.append(rec(OP_VHOST_CALL, 0, 0, 0))
        recs.append(rec(OP_RESET))
        recs.append(rec(OP_VHOST_FAIL, 0, 0, 0, 3))
        recs.append(rec(OP_SETUP, 0, 0, 0x44444444, ~0))
    elif dev == "console":
        recs.append(ram(0x5000, b"hello, console\n"))
        recs.append(desc(1, 0, 0x5000, 15))
        recs.append(rec(OP_OFFER, 0, 1, 0, 0))
        recs.append(desc(0, 0, 0x4000, 64, F_WRITE))
        recs.append(rec(OP_OFFER, 0, 0, 0, 0))
        recs.append(rec(OP_INPUT, 0, 0, 0, 32))
    else:
        # Two receive buffers (mergeable), a frame from the tap, one frame sent.
        recs.append(desc(0, 0, 0x4000, 1536, F_WRITE))
        recs.append(rec(OP_OFFER, 0, 0, 0, 0))
        recs.append(desc(0, 1, 0x8000, 64, F_WRITE))
        recs.append(rec(OP_OFFER, 0, 0, 0, 1))
        recs.append(rec(OP_INPUT, 0, 0, 0, 1400))
        recs.append(ram(0x5000, bytes(12) + b"\xff" * 6 + b"\x52\x54\x00\x12\x34\x56\x08\x00"))
        recs.append(desc(1, 0, 0x5000, 12 + 60))
        recs.append(rec(OP_OFFER, 0, 1, 0, 0))
        if dev == "net-vhost":
            recs.append(rec(OP_VHOST_CALL, 0, 0, 0))
            recs.append(rec(OP_VHOST_CALL, 0, 0, 1))
            recs.append(rec(OP_RESET))
            recs.append(rec(OP_VHOST_FAIL, 0, 0, 0, 5))
            recs.append(rec(OP_SETUP, 0, 0, 0x44444444, ~0))
    recs.append(rec(OP_RESET))
    body = b"".join(recs)
    nrec = len(body) // 16
    assert nrec < 256, nrec
    # The RAM image (queue 0's first descriptors, rewritten by DESC): OP_INPUT takes
    # the bytes of frames and console input from it, a zero virtio-net header first.
    img = bytes(12) + bytes(range(1, 53)) if dev in ("console", "net", "net-vhost") else b""
    return bytes([d * len(TRANSPORTS) + t, nrec]) + body + img


for t in range(len(TRANSPORTS)):
    for d in range(len(DEVS)):
        put("transport", "%s-%s" % (TRANSPORTS[t], DEVS[d]), transport_seed(t, d))

# A queue whose rings are not in RAM (queue 1 at 0x123000).
put("transport", "mmio-rng-rings-outside", bytes([3 * len(TRANSPORTS), 1]) +
    rec(OP_SETUP, 4, 0x1230, 0x44444444, ~0))
put("transport", "pci-intx-net-rings-outside", bytes([5 * len(TRANSPORTS) + 2, 1]) +
    rec(OP_SETUP, 4, 0x1231, 0x44444444, ~0))

# Raw register pokes: the PCI config window and config space reads.
put("transport", "pci-msix-blk-pcfg",
    bytes([1, 4]) + rec(OP_PCFG, 2, 0, 0, 0) + rec(OP_PCFG, 2, 0, 0x14, 0) +
    rec(OP_CFG_READ, 2, 0, 0x34, 0) + rec(OP_READ, 2, 0, 0x1000, 0))

# ---- fuzz-virtqueue ---------------------------------------------------------

OP_POP, OP_PUSH, OP_NOTIFY, OP_AVAIL_EVENT, OP_OFFER_VQ, OP_POKE, OP_REINIT = range(7)


def vq_seed(log2num, flags, descs, offers, extra=b""):
    desc_at, avail_at, used_at = 0x0, 0x2000, 0x3000
    steps = b""
    for head in offers:
        steps += bytes([OP_OFFER_VQ, 0]) + struct.pack("<H", head)
        steps += bytes([OP_POP, 0, 0, 0, OP_PUSH, 0]) + struct.pack("<H", 100)
        steps += bytes([OP_NOTIFY, 0, 0, 0, OP_AVAIL_EVENT, 0, 0, 0])
    steps += bytes([OP_POP, 0, 0, 0])
    img = bytearray(0x8000)
    for i, (addr, length, fl, nxt) in enumerate(descs):
        struct.pack_into("<QIHH", img, desc_at + 16 * i, addr, length, fl, nxt)
    img[0x4000:0x4000 + len(extra)] = extra
    hdr = struct.pack("<BBIIIB", log2num, flags, desc_at, avail_at, used_at, len(steps) // 4)
    return hdr + steps + bytes(img).rstrip(b"\0")


put("virtqueue", "direct", vq_seed(4, 0, [(0x5000, 16, F_NEXT, 1), (0x6000, 512, F_WRITE, 0)],
                                   [0, 0]))
put("virtqueue", "seam", vq_seed(4, 1, [(0x7f00, 0x200, F_WRITE, 0)], [0]))
# An indirect table at 0x4000 of two entries.
table = struct.pack("<QIHHQIHH", 0x5000, 16, F_NEXT, 1, 0x6000, 64, F_WRITE, 0)
put("virtqueue", "indirect", vq_seed(3, 3, [(0x4000, 32, F_INDIRECT, 0)], [0], table))
put("virtqueue", "loop", vq_seed(2, 0, [(0x5000, 8, F_NEXT, 1), (0x5000, 8, F_NEXT, 0)], [0]))
# Three descriptors through an indirect table on a 1-entry queue: refused since the fix
# for issue 11 defect 9 (a chain, table entries included, is at most the queue size).
table3 = struct.pack("<QIHHQIHHQIHH", 0x5000, 16, F_NEXT, 1, 0x5100, 16, F_NEXT, 2, 0x6000, 64,
                     F_WRITE, 0)
put("virtqueue", "indirect-3-on-1", vq_seed(0, 2, [(0x4000, 48, F_INDIRECT, 0)], [0], table3))

# ---- fuzz-image -------------------------------------------------------------


def image_hdr(text_offset=0, image_size=0x200000, flags=0x2):
    h = bytearray(64)
    struct.pack_into("<IIQQQ", h, 0, 0x91005a4d, 0x14000000, text_offset, image_size, flags)
    struct.pack_into("<I", h, 56, 0x644d5241)
    return bytes(h) + bytes(range(256)) * 4


def elf(segs, entry=0x80000000):
    """An AArch64 ET_EXEC with PT_LOAD segments (paddr, filesz, memsz); data follows."""
    phoff, n = 64, len(segs)
    data_at = phoff + 56 * n
    eh = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    eh += struct.pack("<HHIQQQIHHHHHH", 2, 183, 1, entry, phoff, 0, 0, 64, 56, n, 0, 0, 0)
    ph = b""
    body = b""
    for paddr, filesz, memsz in segs:
        ph += struct.pack("<IIQQQQQQ", 1, 5, data_at + len(body), paddr, paddr, filesz, memsz,
                          0x1000)
        body += bytes((i * 3) & 0xff for i in range(filesz))
    return eh + ph + body


def image_seed(mode, ram_base_2m, ram_size_2m, initrd, load, payload):
    return bytes([mode, ram_base_2m, ram_size_2m]) + struct.pack("<II", initrd, load) + payload


M_FIRMWARE, M_LOAD_ADDR, M_INITRD, M_BUFFER = 1, 2, 4, 8
put("image", "image", image_seed(M_INITRD, 0, 7, 0x10000, 0, image_hdr()))
put("image", "image-old", image_seed(0, 1, 3, 0, 0, image_hdr(0x1000, 0)))
put("image", "image-gz", image_seed(M_INITRD, 0, 7, 0x3000, 0,
                                    gzip.compress(image_hdr(), 9, mtime=0)))
# An Image.gz that inflates to more than its image_size (past the first 64 KiB): stopped there.
put("image", "image-gz-bomb", image_seed(0, 0, 7, 0, 0, gzip.compress(
    image_hdr(image_size=0x20000) + bytes(1 << 20), 9, mtime=0)))
put("image", "gz-buffer", image_seed(M_BUFFER, 0, 7, 0, 0, gzip.compress(image_hdr(), 9, mtime=0)))
put("image", "gz-2members", image_seed(0, 0, 3, 0, 0, gzip.compress(b"\x01\x02", mtime=0) +
                                       gzip.compress(bytes(300), mtime=0) + b"trailing"))
put("image", "gz-elf", image_seed(0, 0, 7, 0, 0, gzip.compress(
    elf([(0x80000000, 0x80, 0x1000)]), mtime=0)))
put("image", "elf", image_seed(M_INITRD, 0, 7, 0x1000, 0,
                               elf([(0x80000000, 0x80, 0x1000), (0x80100000, 0x40, 0x40)])))
put("image", "elf-high", image_seed(0, 0, 3, 0, 0, elf([(0x4000000000, 0x40, 0x100)])))
put("image", "flat", image_seed(M_LOAD_ADDR | M_INITRD, 0, 3, 0x100, 0x400000,
                                bytes([0xaa, 0x00, 0xff]) * 64))
put("image", "flat-gz", image_seed(M_FIRMWARE | M_LOAD_ADDR, 0, 3, 0, 0x500000,
                                   gzip.compress(bytes([0xaa, 0x00, 0xff]) * 999, mtime=0)))
put("image", "firmware", image_seed(M_FIRMWARE, 0, 3, 0, 0, image_hdr()))
put("image", "text", image_seed(0, 0, 3, 0, 0, b"#!/bin/sh\necho not a kernel\n"))

# ---- fuzz-cmdline -----------------------------------------------------------

M_ARGV, M_DISK, M_NET, M_IDREG_LIST, M_IDREG_ASSIGN, M_IDREG_FILE, M_IDREG_FORMAT, M_SIZE, \
    M_UINT = range(9)


def argv(*args):
    return bytes([M_ARGV]) + b"\0".join(a.encode() for a in args)


put("cmdline", "argv-basic", argv("-k", "Image", "-i", "initrd.cpio", "-p", "console=ttyS0 quiet",
                                  "-m", "512", "-c", "2"))
put("cmdline", "argv-devices", argv("--kernel=Image", "-d", "a.img,ro,engine=sync", "-d",
                                    "b.img,direct,engine=io_uring", "--rng", "--console",
                                    "virtio", "-n",
                                    "mode=tap,tapif=tap0,vhost=off,guest_mac=52:54:00:12:34:56",
                                    "--virtio-transport", "mmio"))
put("cmdline", "argv-nested", argv("Image", "--nested", "--e2h0", "--irqchip", "gicv3", "--pmu",
                                   "--pmu-counters", "4", "-m", "1G@0x100000000", "-m", "256M",
                                   "--ipa-bits", "40", "--kaslr-seed", "0x1234",
                                   "--counter-offset", "99"))
put("cmdline", "argv-idregs", argv("-k", "Image", "--cpu-feature",
                                   "ID_AA64PFR0_EL1.SVE=0,ID_AA64MMFR0_EL1.PARange=2",
                                   "--id-reg", "ID_AA64ISAR0_EL1=0x1100", "--disable-ptrauth",
                                   "--cpu-features=@F",
                                   "# lowered for the guest\nID_AA64DFR0_EL1.DebugVer=6\n"
                                   "ID_AA64PFR0_EL1.GIC=1, ID_AA64ISAR1_EL1.APA=0\n"))
put("cmdline", "argv-firmware", argv("-f", "fw.bin", "--firmware-address", "0x80000000",
                                     "--nodefaults", "--loglevel", "debug", "--name", "vm0",
                                     "--dump-dtb", "x.dtb", "--", "extra"))
put("cmdline", "argv-refused", argv("-k", "Image", "--9p", "x", "-zk", "--help"))
put("cmdline", "disk", bytes([M_DISK]) + b"/var/lib/lkvm/disk.img,ro,direct,engine=aio")
put("cmdline", "net", bytes([M_NET]) + b"mode=tap,tapif=lkvm0,vhost=1,guest_mac=02:00:00:00:00:01,"
    b"host_mac=02:00:00:00:00:02,script=/etc/lkvm-ifup")
put("cmdline", "net-none", bytes([M_NET]) + b"mode=none")
put("cmdline", "idreg-list", bytes([M_IDREG_LIST]) +
    b"id_aa64pfr0.SVE=0, ID_AA64MMFR0_EL1.PARange=0x2,ID_AA64PFR0_EL1.FP=-1,S3_0_C0_C4_0=0")
put("cmdline", "idreg-assign", bytes([M_IDREG_ASSIGN]) + struct.pack("<QQ", 0x1100000011111111,
                                                                     0xffff0000ffffffff) +
    b"ID_AA64PFR0_EL1.EL2=1")
put("cmdline", "idreg-file", bytes([M_IDREG_FILE]) +
    b"# comment\n\nID_AA64DFR0_EL1.PMUVer=4 # trailing\nMIDR_EL1=0x410fd0c0\n")
put("cmdline", "idreg-format", bytes([M_IDREG_FORMAT]) + struct.pack("<QQ", 0x0000000011112222,
                                                                     0xff00ff00ff00ff00) +
    b"ID_AA64MMFR1_EL1")
put("cmdline", "size", bytes([M_SIZE]) + b"0x1p")
put("cmdline", "uint", bytes([M_UINT]) + b"18446744073709551615")

# ---- fuzz-uart --------------------------------------------------------------


def uart(op, off, val=0, length=0):
    return struct.pack("<BBHI", op, length, off, val)


put("uart", "console", b"".join([
    uart(0, 3, 0x80), uart(0, 0, 1), uart(0, 1, 0), uart(0, 3, 0x03),  # 115200 8N1
    uart(0, 2, 0x07), uart(0, 1, 0x0f), uart(1, 2), uart(0, 0, ord("h")), uart(1, 5),
    uart(4, 0, ord("a"), 20), uart(1, 2), uart(1, 5), uart(1, 0), uart(1, 0),
    uart(0, 4, 0x10), uart(0, 0, 0x55), uart(1, 6), uart(1, 0), uart(0, 7, 0xa5), uart(1, 7),
    uart(2, 0x8, 1000, 2), uart(3, 0), uart(3, 0x4), uart(2, 0x10, 1, 2), uart(3, 0x14),
    uart(3, 0xfe0, 0, 0x82), uart(3, 0xff0, 0, 0x82)]))

# ---- fuzz-9p ----------------------------------------------------------------

def p9_seed(mode, cap, client):
    return bytes([mode]) + struct.pack("<I", cap) + client.out


c = P9().version().attach(0).walk(0, 1, "file").lopen(1, 2).read(1, 0, 100).write(1, 5, b"XYZ")
c.getattr(1).fidop(120, 1).walk(0, 2, "dir").lopen(2, 0o200000).read(2, 0, 4096, 40)
c.walk(0, 3, "dir", "inner").getattr(3).fidop(50, 3).fidop(8, 0)
put("9p", "read-write", p9_seed(0, 8192, c))

c = P9().version().attach(0).walk(0, 1).lcreate(1, "new").write(1, 0, b"created\n")
c.walk(0, 2).mkdir(2, "sub").walk(0, 3, "sub").symlink(3, "ln", "../file")
c.walk(0, 4, "file").link(3, 4, "hard").renameat(0, "file", 3, "moved")
c.walk(0, 5, "sub", "moved").setattr(5, 0x9, 0o600, 3).unlinkat(3, "ln").fidop(122, 5)
c.walk(0, 6, "dir").lopen(6, 0).lock(6).getlock(6).xattrwalk(0, 7, "user.x").mknod(0, "dev")
put("9p", "create-rename", p9_seed(0, 65536, c))

# Ways out: each must fail and leave the outside alone.
c = P9().version().attach(0).walk(0, 1, "..").walk(0, 2, "up", "secret").walk(0, 3, "abs")
c.lopen(3, 0).walk(0, 4, "root", "etc").walk(0, 5, "self", "self", "file")
c.walk(0, 6, "up").lopen(6, 0).walk(0, 7).symlink(7, "esc", "../outside/secret")
c.walk(0, 8, "esc").lopen(8, 1).write(8, 0, b"pwned").renameat(0, "file", 0, "../outside/x")
c.walk(0, 9, "fifo").lopen(9, 0).read(9, 0, 16).unlinkat(0, "..", 0x200)
c.walk(0, 10, "rel").lopen(10, 0).fidop(22, 10)
put("9p", "escapes", p9_seed(0, 8192, c))
put("9p", "read-only", p9_seed(2, 8192, P9().version().attach(0).walk(0, 1).lcreate(1, "no")
                                 .walk(0, 2, "file").lopen(2, 2).setattr(2, 1)))
put("9p", "small-cap", p9_seed(0, 24, P9().version(4096).attach(0).walk(0, 1, "dir")
                               .lopen(1, 0o200000).read(1, 0, 9000, 40)))
put("9p", "wire", bytes([1]) + struct.pack("<I", 8192) +
    P9().walk(0, 1, *["a"] * 16).out[2:])

# ---- fuzz-snapshot ----------------------------------------------------------
# The state file of lkvm/snapshot.h (docs/snapshot.md): byte 0 even, then a
# whole file; byte 0 odd, then { u8 type, u16 len, payload, u8 id } records
# the harness seals with the right CRCs.

SNAP_SEC = {"config": 1, "vm": 2, "vcpu": 3, "kvm-device": 4, "memory": 5, "device": 6}


def pad8(b):
    return b + bytes(-len(b) % 8)


def snap_file(sections, version=1):
    body = b""
    for typ, sid, payload in sections:
        hdr = struct.pack("<IIQ", typ, sid, len(payload))
        crc = zlib.crc32(payload, zlib.crc32(hdr))
        body += hdr + struct.pack("<II", crc, 0) + pad8(payload)
    hdr = b"LKVMSNAP" + struct.pack("<IIIIIIII", version, 64, 183, 4096, 12, 40, 1,
                                    len(sections))
    hdr += struct.pack("<QQ", 64 + len(body), 0)
    hdr += struct.pack("<I", zlib.crc32(hdr + bytes(8))) + bytes(4)
    return hdr + body


def snap_config(*args):
    out = struct.pack("<I", len(args))
    for a in args:
        out = pad8(out + struct.pack("<I", len(a)) + a.encode())
    return out


def snap_vcpu(mp, regs):
    out = struct.pack("<II", mp, len(regs))
    for rid, val in regs:
        out += pad8(struct.pack("<QII", rid, len(val), 0) + val)
    return out


SNAP_VM = struct.pack("<IIIIQQ", 1, 5, 40, 1, 0x123456789, 0)
SNAP_REGS = snap_vcpu(0, [(0x6030000000100000, struct.pack("<Q", 0x80000000)),
                          (0x6080000000150000, bytes(range(256)))])
SNAP_ATTRS = struct.pack("<II", 2, 0) + struct.pack("<IIQQ", 1, 4, 0x100, 0xffff) + \
    struct.pack("<IIQQ", 6, 8, 0xc65a, 1)
SNAP_MEM = struct.pack("<IIQ", 4096, 1, 0x100000) + struct.pack("<QQQ", 0x80000000, 0x100000, 0)
SNAP_DEV = pad8(struct.pack("<I", 4) + b"uart") + struct.pack("<II", 1, 3) + b"abc"
SNAP_ALL = [(1, 0, snap_config("run", "-k", "Image", "-m", "64")), (2, 0, SNAP_VM),
            (3, 0, SNAP_REGS), (4, 0, SNAP_ATTRS), (5, 0, SNAP_MEM), (6, 0, SNAP_DEV)]


def snap_records(sections):
    return bytes([1]) + b"".join(struct.pack("<BH", t, len(p)) + p + bytes([i])
                                 for t, i, p in sections)


put("snapshot", "file-full", bytes([0]) + snap_file(SNAP_ALL))
put("snapshot", "file-empty", bytes([0]) + snap_file([]))
put("snapshot", "file-version-2", bytes([0]) + snap_file(SNAP_ALL[:2], version=2))
put("snapshot", "file-cut", bytes([0]) + snap_file(SNAP_ALL)[:200])
put("snapshot", "sealed-all", snap_records(SNAP_ALL))
put("snapshot", "sealed-cut", bytes([3]) + snap_records(SNAP_ALL)[1:])
