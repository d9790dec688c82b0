using System.Runtime.InteropServices;
using Datapath.Drivers.VhostUser.Backend;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// <see cref="DeferredCopies"/>: every length lands whole, on both sides of the inline small-frame
/// moves (32..128 bytes) and past the capacity, and nothing outside [0, length) of the destination
/// is written.
/// </summary>
public unsafe class DeferredCopiesTests
{
    const int Guard = 64, Bytes = 512;

    [Fact]
    public void Every_length_up_to_a_few_lines_is_copied_whole_and_nothing_around_it_is_touched()
    {
        byte* src = (byte*)NativeMemory.AlignedAlloc(Bytes, 64);
        byte* dst = (byte*)NativeMemory.AlignedAlloc(Bytes + 2 * Guard, 64);
        try
        {
            for (int i = 0; i < Bytes; i++) src[i] = (byte)(i * 7 + 1);
            var entries = stackalloc DeferredCopies.Entry[DeferredCopies.Capacity];
            // Unaligned starts too: frames sit at any offset in a guest buffer.
            foreach (int srcOffset in new[] { 0, 1, 12 })
            {
                for (uint len = 0; len <= 300; len++)
                {
                    new Span<byte>(dst, Bytes + 2 * Guard).Fill(0xEE);
                    var copies = new DeferredCopies(entries);
                    copies.Add(dst + Guard, src + srcOffset, len);
                    copies.Flush();
                    for (int i = 0; i < Bytes + 2 * Guard; i++)
                    {
                        int at = i - Guard;
                        byte want = at >= 0 && at < len ? src[srcOffset + at] : (byte)0xEE;
                        if (dst[i] != want) Assert.Fail($"length {len} from offset {srcOffset}: byte {at} is {dst[i]:x2}, not {want:x2}");
                    }
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(src);
            NativeMemory.AlignedFree(dst);
        }
    }

    [Fact]
    public void More_copies_than_the_capacity_flush_on_the_way_and_all_land()
    {
        const int Count = DeferredCopies.Capacity * 2 + 3, Len = 64;
        byte* src = (byte*)NativeMemory.Alloc(Count * Len);
        byte* dst = (byte*)NativeMemory.AllocZeroed(Count * Len);
        try
        {
            for (int i = 0; i < Count * Len; i++) src[i] = (byte)(i / Len + 1);
            var entries = stackalloc DeferredCopies.Entry[DeferredCopies.Capacity];
            var copies = new DeferredCopies(entries);
            for (int k = 0; k < Count; k++) copies.Add(dst + k * Len, src + k * Len, Len);
            copies.Flush();
            Assert.True(new Span<byte>(src, Count * Len).SequenceEqual(new Span<byte>(dst, Count * Len)));
        }
        finally
        {
            NativeMemory.Free(src);
            NativeMemory.Free(dst);
        }
    }
}
