#!/usr/bin/env python3
"""Writes a smaller copy of an x86-64 kernel ELF (vmlinux) for qemu's direct kernel boot.

Usage: trim_kernel.py <vmlinux> <output>

The vmlinux inside Debian's bzImage stores its zero-initialised tail (.bss, .brk,
.init.scratch: ~21 MB) as file bytes and pads its segments to 2 MiB file offsets. The output
keeps every loadable segment's bytes up to its last non-zero byte (the loader zero-fills the
rest of p_memsz, as it does for any .bss), packs the segments at 4 KiB-aligned offsets and
drops the section headers, which no boot loader reads. Notes (qemu finds the PVH entry
there) move with the segment that holds them. Nothing the guest sees in memory changes.
"""

import struct
import sys

PT_LOAD = 1
PT_NOTE = 4
PAGE = 4096

# Elf64_Ehdr fields after e_ident, and Elf64_Phdr.
EHDR_REST = struct.Struct("<HHIQQQIHHHHHH")
PHDR = struct.Struct("<IIQQQQQQ")


def fail(message):
    sys.exit("trim_kernel.py: " + message)


def main():
    if len(sys.argv) != 3:
        fail("usage: trim_kernel.py <vmlinux> <output>")
    data = open(sys.argv[1], "rb").read()
    if data[:4] != b"\x7fELF" or data[4] != 2 or data[5] != 1:
        fail(sys.argv[1] + " is not a little-endian 64-bit ELF file")
    (e_type, e_machine, e_version, e_entry, e_phoff, _e_shoff, e_flags, e_ehsize,
     e_phentsize, e_phnum, _e_shentsize, _e_shnum, _e_shstrndx) = EHDR_REST.unpack_from(data, 16)
    if e_phentsize != PHDR.size:
        fail("unexpected program header size %d" % e_phentsize)
    phdrs = [list(PHDR.unpack_from(data, e_phoff + i * PHDR.size)) for i in range(e_phnum)]

    # Layout: ELF header, program headers, then each PT_LOAD's kept bytes on its own page.
    offset = (e_ehsize + e_phnum * PHDR.size + PAGE - 1) // PAGE * PAGE
    body = []
    moved = []  # (old offset, old file size, new offset) of each PT_LOAD
    for ph in phdrs:
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = ph[:6]
        if p_type != PT_LOAD:
            continue
        segment = data[p_offset:p_offset + p_filesz].rstrip(b"\0")
        moved.append((p_offset, p_filesz, offset))
        body.append((offset, segment))
        ph[2] = offset
        ph[5] = len(segment)
        ph[7] = PAGE
        offset = (offset + len(segment) + PAGE - 1) // PAGE * PAGE
    for ph in phdrs:
        if ph[0] == PT_LOAD:
            continue
        for (old, size, new), (_, kept) in zip(moved, body):
            if old <= ph[2] and ph[2] + ph[5] <= old + size:
                if ph[2] - old + ph[5] > len(kept):
                    fail("a note segment lies in a loadable segment's zero tail")
                ph[2] = new + (ph[2] - old)
                break
        else:
            if ph[0] == PT_NOTE:
                fail("a note segment lies outside every loadable segment")
            ph[2], ph[5] = 0, 0  # nothing else is read from the file

    out = bytearray(offset)
    out[:16] = data[:16]
    EHDR_REST.pack_into(out, 16, e_type, e_machine, e_version, e_entry, e_ehsize, 0, e_flags,
                        e_ehsize, e_phentsize, e_phnum, 0, 0, 0)
    for i, ph in enumerate(phdrs):
        PHDR.pack_into(out, e_ehsize + i * PHDR.size, *ph)
    for start, segment in body:
        out[start:start + len(segment)] = segment
    with open(sys.argv[2], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
