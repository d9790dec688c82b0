namespace Datapath.Drivers.Virtio;

/// <summary>
/// Device side: moving bytes between a validated chain and local memory. Reads come only from
/// device-readable segments and writes go only to device-writable ones (§2.7.5: the device must
/// not write a read-only buffer), whatever the caller asks.
/// </summary>
public static unsafe class VirtqChainCopy
{
    /// <summary>Copies the chain's readable bytes (in order) into <paramref name="destination"/>; returns bytes copied.</summary>
    public static int CopyFromReadable(ReadOnlySpan<VirtqSegment> segments, Span<byte> destination)
    {
        int copied = 0;
        foreach (ref readonly var s in segments)
        {
            if (s.Writable) break; // readable segments come first (§2.7.4.2)
            int n = (int)Math.Min(s.Length, (uint)(destination.Length - copied));
            new ReadOnlySpan<byte>(s.Data, n).CopyTo(destination[copied..]);
            copied += n;
            if (copied == destination.Length) break;
        }
        return copied;
    }

    /// <summary>
    /// Copies <paramref name="source"/> into the chain's writable segments; returns bytes written,
    /// or -1 (nothing written) if the writable part is too small — e.g. a read-only chain.
    /// </summary>
    public static int CopyToWritable(ReadOnlySpan<VirtqSegment> segments, ReadOnlySpan<byte> source)
    {
        ulong room = 0;
        foreach (ref readonly var s in segments) if (s.Writable) room += s.Length;
        if (room < (ulong)source.Length) return -1;
        int written = 0;
        foreach (ref readonly var s in segments)
        {
            if (!s.Writable) continue;
            if (written == source.Length) break;
            int n = (int)Math.Min(s.Length, (uint)(source.Length - written));
            source.Slice(written, n).CopyTo(new Span<byte>(s.Data, n));
            written += n;
        }
        return written;
    }
}
