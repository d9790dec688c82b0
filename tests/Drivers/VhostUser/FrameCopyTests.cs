using System.Runtime.InteropServices;
using Datapath.Drivers.VhostUser.Backend;

namespace Datapath.Tests.Drivers.VhostUser;

/// <summary>
/// <see cref="FrameCopy"/>: every length from 0 to past a jumbo frame's lands whole, through each of its
/// ways (bytes, overlapping 8-, 16- and 32-byte moves, the 32-byte loop), from unaligned starts, and
/// nothing outside [0, length) of the destination is written.
/// </summary>
public unsafe class FrameCopyTests
{
    const int Guard = 64, Bytes = 9100;

    [Fact]
    public void Every_length_through_each_way_is_copied_whole_and_nothing_around_it_is_touched()
    {
        byte* src = (byte*)NativeMemory.AlignedAlloc(Bytes + 64, 64);
        byte* dst = (byte*)NativeMemory.AlignedAlloc(Bytes + 2 * Guard, 64);
        try
        {
            for (int i = 0; i < Bytes + 64; i++) src[i] = (byte)(i * 7 + 1);
            foreach (int srcOffset in new[] { 0, 1, 12 })
            {
                for (uint len = 0; len <= Bytes; len++)
                {
                    new Span<byte>(dst, Bytes + 2 * Guard).Fill(0xEE);
                    FrameCopy.Copy(dst + Guard, src + srcOffset, len);
                    var copied = new Span<byte>(dst + Guard, (int)len);
                    if (!copied.SequenceEqual(new Span<byte>(src + srcOffset, (int)len)))
                        Assert.Fail($"length {len} from offset {srcOffset}: the copy differs");
                    if (new Span<byte>(dst, Guard).ContainsAnyExcept((byte)0xEE)
                        || new Span<byte>(dst + Guard + len, Bytes + Guard - (int)len).ContainsAnyExcept((byte)0xEE))
                        Assert.Fail($"length {len} from offset {srcOffset}: a byte outside the frame was written");
                }
            }
        }
        finally
        {
            NativeMemory.AlignedFree(src);
            NativeMemory.AlignedFree(dst);
        }
    }
}
