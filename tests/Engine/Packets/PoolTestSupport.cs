using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Hugepages;

namespace Datapath.Tests.Engine.Packets;

/// <summary>
/// What the pool tests share: the two kinds of memory a pool can live in, and a scope that marks
/// the test thread as an lcore (so the pool's per-lcore cache is used) and always unmarks it —
/// xunit reuses threads, and a thread left marked would silently change the next test's path.
/// </summary>
internal static class PoolTestSupport
{
    public static readonly MemoryOptions Huge = new() { FilePrefix = "datapath-test" };
    public static readonly MemoryOptions NoHuge = new() { NoHuge = true, FilePrefix = "datapath-test" };
    public static readonly MemoryOptions HugePa = new() { IovaMode = IovaMode.Pa, FilePrefix = "datapath-test" };

    /// <summary>Theory data: "huge" or "nohuge".</summary>
    public static TheoryData<string> MemoryKinds => new() { "huge", "nohuge" };

    public static MemoryOptions Memory(string kind) => kind == "huge" ? Huge : NoHuge;

    public static LcoreScope AsLcore(int id) => new(id);

    /// <summary>Every buffer of a pool, taken one by one on a thread that is no lcore (straight from the ring).</summary>
    public static List<Packet> TakeAll(PacketPool pool)
    {
        var all = new List<Packet>();
        for (var p = pool.Alloc(); !p.IsNull; p = pool.Alloc()) all.Add(p);
        return all;
    }
}

internal readonly struct LcoreScope : IDisposable
{
    public LcoreScope(int id) => Lcore.SetCurrent(id);
    public void Dispose() => Lcore.SetCurrent(Lcore.None);
}
