namespace Datapath.Drivers.Virtio;

/// <summary>Event-index arithmetic shared by both sides of both ring formats.</summary>
public static class VirtqEvent
{
    /// <summary>
    /// vring_need_event (virtio 1.2 §2.7.7.2 / §2.7.10): having moved an index from <paramref name="old"/>
    /// to <paramref name="next"/>, the other side asked to be told once the index passes
    /// <paramref name="eventIdx"/>. True if eventIdx lies in [old, next). All arithmetic is mod 2^16.
    /// </summary>
    public static bool NeedEvent(ushort eventIdx, ushort next, ushort old)
        => (ushort)(next - eventIdx - 1) < (ushort)(next - old);
}
