using System.Runtime.CompilerServices;

namespace Datapath.Drivers.VhostUser.Backend;

/// <summary>
/// Used entries of one burst, kept on the stack and written to the ring together at the end (DPDK's
/// "shadow used ring"). The driver polls the line its next used entry lands in; writing every
/// entry between two frame copies hands that line back and forth once per frame, writing them in
/// one run hands it over once per burst. Entries leave in the order they were added, as pops came
/// (IN_ORDER); only a malformed buffer, returned by the queue itself when popped, can overtake them.
/// A queue that stages used entries itself until it publishes (packed) takes each at once instead.
/// </summary>
internal unsafe ref struct UsedBatch
{
    public const int Capacity = 64;
    readonly ushort* _ids;
    readonly uint* _lengths;
    int _count;

    public UsedBatch(ushort* ids, uint* lengths)
    {
        _ids = ids;
        _lengths = lengths;
        _count = 0;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Add<TQueue>(TQueue q, ushort id, uint length) where TQueue : struct, IRingOps
    {
        // Staged by the queue itself (packed): pushed now, so it keeps its place among the lines the
        // burst returns straight to the queue (IN_ORDER). Nothing is visible before the burst publishes.
        if (q.UsedWaitsForPublish) { q.PushUsed(id, length); return; }
        if (_count == Capacity) { Push(q, _ids, _lengths, _count); _count = 0; }
        _ids[_count] = id;
        _lengths[_count] = length;
        _count++;
    }

    /// <summary>Entries that can be added before the batch must be pushed (a queue that stages its own: any).</summary>
    public readonly int Room => Capacity - _count;

    /// <summary><see cref="Add"/> for a queue that does not stage its own, with room known: no call in it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void AddInRoom(ushort id, uint length)
    {
        _ids[_count] = id;
        _lengths[_count] = length;
        _count++;
    }

    // Inline over a static method, for the reason DeferredCopies.Flush gives: the struct stays in registers.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Flush<TQueue>(TQueue q) where TQueue : struct, IRingOps
    {
        if (_count != 0) Push(q, _ids, _lengths, _count);
        _count = 0;
    }

    static void Push<TQueue>(TQueue q, ushort* ids, uint* lengths, int count) where TQueue : struct, IRingOps
    {
        for (int i = 0; i < count; i++) q.PushUsed(ids[i], lengths[i]);
    }
}
