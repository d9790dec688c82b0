using System.Diagnostics;
using Datapath.Drivers;
using Datapath.Drivers.VirtioUser;
using Datapath.Engine.Lcores;
using Datapath.Engine.Packets;
using Datapath.Engine.Ports;
using Datapath.Hugepages;

namespace Datapath.Tests.Drivers.VirtioUser;

/// <summary>
/// Our side of a virtio-user test: a packet pool, one net_virtio_user port made from its device
/// string as the app would, and a worker lcore pinned to CPU 0 that runs the test's poll loop.
/// </summary>
public sealed class VirtioUserRig : IDisposable
{
    static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    readonly PortTable _ports = new();
    readonly LcoreSet _lcores;

    public PacketPool Pool { get; }
    public VirtioUserPort Port { get; }
    public const int Worker = 1;

    public VirtioUserRig(string deviceArgs, int dataRoom = PacketPool.DefaultDataRoom, int queues = 1)
    {
        var memory = new MemoryOptions { FilePrefix = $"dptest-vu-{Environment.ProcessId}" };
        // Our lcores on CPU 0, testpmd's on CPU 1.
        _lcores = new LcoreSet(LcoreMap.FromLcoresOption("0@0,1@0"), pinMain: false);
        Pool = PacketPool.Create($"vu{Guid.NewGuid():N}"[..12], 8192, memory, dataRoom);
        var registry = DriverCatalog.CreateRegistry();
        Port = (VirtioUserPort)registry.Create(deviceArgs, new DriverContext(memory, _ports));
        _ports.Add(Port);
        Port.Configure(new PortConfig { Pool = Pool, RxQueues = queues, TxQueues = queues });
    }

    public void Start() => Port.Start();

    /// <summary>Waits (bounded) until <paramref name="condition"/> holds; false if it never did.</summary>
    public static bool WaitUntil(Func<bool> condition, TimeSpan? timeout = null)
    {
        var sw = Stopwatch.StartNew();
        while (!condition())
        {
            if (sw.Elapsed > (timeout ?? Patience)) return false;
            Thread.Sleep(10);
        }
        return true;
    }

    public void WaitForLink(bool up)
    {
        Assert.True(WaitUntil(() => Port.Link.Up == up), $"link never went {(up ? "up" : "down")}");
    }

    /// <summary>Runs <paramref name="loop"/> on the worker lcore (CPU 0) and waits for it.</summary>
    public void OnWorker(Action loop)
    {
        _lcores.Launch(Worker, loop);
        _lcores.Wait(Worker);
    }

    public void Launch(Action loop) => _lcores.Launch(Worker, loop);
    public void Wait() => _lcores.Wait(Worker);

    public ulong ExtendedStat(string name) => Port.ExtendedStats().Single(s => s.Key == name).Value;

    public void Dispose()
    {
        _ports.Dispose();       // stops the port: GET_VRING_BASE, every buffer back to the pool
        Assert.Equal(0, Pool.InUse);
        Pool.Dispose();
        _lcores.Dispose();
    }
}
