using System.Runtime.InteropServices;
using Datapath.Drivers.Virtio;
using Datapath.Hugepages.Native;

namespace Datapath.Tests.Drivers.Virtio;

/// <summary>
/// VirtioNetHeader.StoreUnlessEqual: the header ends up right, and bytes that already hold it are
/// never stored (their line stays clean in the other side's cache) — checked on a read-only page,
/// where any store would fault.
/// </summary>
public unsafe partial class VirtioNetHeaderStoreTests
{
    [LibraryImport("libc", EntryPoint = "mprotect", SetLastError = true)]
    private static partial int Mprotect(nint addr, nuint length, int prot);

    [Fact]
    public void Num_buffers_word_matches_the_struct_layout()
    {
        var h = new VirtioNetHeader { NumBuffers = 0xBEEF };
        byte* b = (byte*)&h;
        Assert.Equal(VirtioNetHeader.Last4WithNumBuffers(0xBEEF), *(uint*)(b + 8));
        Assert.Equal(0ul, *(ulong*)b);
    }

    [Fact]
    public void A_different_header_is_stored_whole()
    {
        byte* buf = stackalloc byte[16];
        new Span<byte>(buf, 16).Fill(0xAA);
        VirtioNetHeader.StoreUnlessEqual(buf, 0, VirtioNetHeader.Last4WithNumBuffers(3));
        var h = *(VirtioNetHeader*)buf;
        Assert.Equal(default(VirtioNetHeader) with { NumBuffers = 3 }, h);
        Assert.Equal(0xAA, buf[12]); // nothing past the 12 bytes
    }

    [Fact]
    public void A_header_already_in_place_is_not_stored_again()
    {
        nint page = Libc.MmapChecked(4096, Libc.PROT_READ | Libc.PROT_WRITE, Libc.MAP_PRIVATE | Libc.MAP_ANONYMOUS, -1, 0, "test page");
        try
        {
            byte* hdr = (byte*)page + 116; // where DPDK's mbufs put it: 12 bytes before a 128-byte headroom
            VirtioNetHeader.StoreUnlessEqual(hdr, 0, VirtioNetHeader.Last4WithNumBuffers(1));
            Assert.Equal(0, Mprotect(page, 4096, Libc.PROT_READ));
            VirtioNetHeader.StoreUnlessEqual(hdr, 0, VirtioNetHeader.Last4WithNumBuffers(1)); // a store would SIGSEGV here
            Assert.Equal((ushort)1, ((VirtioNetHeader*)hdr)->NumBuffers);
        }
        finally
        {
            Libc.Munmap(page, 4096);
        }
    }
}
