using System.Runtime.CompilerServices;

namespace Datapath.Engine.Forwarding;

/// <summary>
/// How many bursts of each size a stream's rx or tx queue returned (testpmd --record-burst-stats):
/// entry n counts the bursts of n packets, entry 0 the polls that found nothing (rx) or sends that
/// placed nothing (tx). Written only by the stream's lcore, one increment per burst; the console
/// reads it and keeps its own baseline for `clear fwd stats`, so nothing else ever writes here.
/// </summary>
public sealed class BurstSpread
{
    // A cache line of padding on each side of the counts: entry 0 and the burst size are written
    // every pass, and another lcore's object may lie just before or after this array in the heap.
    const int Pad = 8;
    readonly ulong[] _counts = new ulong[Pad + ForwardingConfig.MaxBurst + 1 + Pad];
    readonly ulong[] _baseline = new ulong[ForwardingConfig.MaxBurst + 1];

    /// <summary>Data path: one burst of <paramref name="packets"/> (0..<see cref="ForwardingConfig.MaxBurst"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void Record(int packets) => _counts[Pad + packets]++;

    /// <summary>Bursts per size since the last <see cref="Reset"/>, index = packets in the burst.</summary>
    public ulong[] Snapshot()
    {
        var s = new ulong[ForwardingConfig.MaxBurst + 1];
        for (int n = 0; n < s.Length; n++) s[n] = Volatile.Read(ref _counts[Pad + n]) - _baseline[n];
        return s;
    }

    /// <summary>Control thread: counts from now on (`clear fwd stats`).</summary>
    public void Reset()
    {
        for (int n = 0; n < _baseline.Length; n++) _baseline[n] = Volatile.Read(ref _counts[Pad + n]);
    }
}
