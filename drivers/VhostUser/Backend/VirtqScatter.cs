using System.Runtime.CompilerServices;
using Datapath.Drivers.Virtio;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// Copies between packet bytes and a chain's validated segments: reading skips the readable
/// segments' first bytes (the virtio-net header), writing fills writable segments in order across
/// one or more chains (mergeable rx). Readable segments are never written.
/// </summary>
internal static unsafe class VirtqScatter
{
    /// <summary>Copies <paramref name="length"/> readable bytes starting <paramref name="skip"/> bytes in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void ReadReadable(ReadOnlySpan<VirtqSegment> segments, uint skip, byte* dst, uint length)
    {
        foreach (ref readonly var s in segments)
        {
            if (length == 0 || s.Writable) return;
            if (skip >= s.Length) { skip -= s.Length; continue; }
            uint take = Math.Min(s.Length - skip, length);
            Buffer.MemoryCopy(s.Data + skip, dst, take, take);
            dst += take;
            length -= take;
            skip = 0;
        }
    }
}

/// <summary>A cursor over writable segments: each Write continues where the last one stopped.</summary>
internal unsafe ref struct WritableCursor
{
    readonly ReadOnlySpan<VirtqSegment> _segments;
    int _index;
    uint _offset;

    public WritableCursor(ReadOnlySpan<VirtqSegment> segments)
    {
        _segments = segments;
        _index = 0;
        _offset = 0;
    }

    /// <summary>Writes all of src; the caller has checked there is room.</summary>
    public void Write(byte* src, uint length)
    {
        while (length > 0 && _index < _segments.Length)
        {
            ref readonly var s = ref _segments[_index];
            if (!s.Writable || _offset == s.Length) { _index++; _offset = 0; continue; }
            uint take = Math.Min(s.Length - _offset, length);
            Buffer.MemoryCopy(src, s.Data + _offset, take, take);
            src += take;
            length -= take;
            _offset += take;
        }
    }
}
