using Datapath.Hugepages.Native;

namespace Datapath.Engine.Lcores;

/// <summary>
/// The running lcores (DPDK's EAL threads): the calling thread becomes the main lcore, and each
/// worker lcore is a dedicated thread pinned with sched_setaffinity that waits for a function to run
/// (rte_eal_remote_launch / rte_eal_wait_lcore). A launched function runs until it returns; stopping
/// it is the function's business (a flag it polls).
/// </summary>
public sealed class LcoreSet : IDisposable
{
    readonly Dictionary<int, Worker> _workers = new();
    readonly int _previousLcore;

    public LcoreMap Map { get; }
    public int MainLcore => Map.Main.Lcore;
    public IEnumerable<int> WorkerLcores => Map.Workers.Select(w => w.Lcore);

    /// <param name="pinMain">Pin the calling thread to the main lcore's CPUs (as the EAL does).</param>
    public LcoreSet(LcoreMap map, bool pinMain = true)
    {
        Map = map;
        if (pinMain) Libc.PinCurrentThread(map.Main.Cpus);
        _previousLcore = Lcore.CurrentId;
        Lcore.SetCurrent(map.Main.Lcore);
        foreach (var e in map.Workers) _workers[e.Lcore] = new Worker(e);
        foreach (var w in _workers.Values) w.WaitReady();
    }

    /// <summary>Runs <paramref name="job"/> on a worker lcore; the lcore must be idle.</summary>
    public void Launch(int lcore, Action job)
    {
        if (!_workers.TryGetValue(lcore, out var w)) throw new ArgumentException($"lcore {lcore} is not a worker lcore (workers: {string.Join(",", _workers.Keys)})");
        w.Launch(job);
    }

    /// <summary>Waits for the lcore's job to return; rethrows what it threw.</summary>
    public void Wait(int lcore) => _workers[lcore].Wait();

    public void WaitAll()
    {
        foreach (var w in _workers.Values) w.Wait();
    }

    public bool IsBusy(int lcore) => _workers[lcore].Busy;

    /// <summary>The Linux thread id of a worker lcore (to read its affinity back, or to trace it).</summary>
    public int ThreadId(int lcore) => _workers[lcore].Tid;

    public void Dispose()
    {
        foreach (var w in _workers.Values) w.Shutdown();
        _workers.Clear();
        // The creating thread stops being the main lcore (it may be reused, e.g. by a test runner).
        Lcore.SetCurrent(_previousLcore);
    }

    sealed class Worker
    {
        readonly LcoreMap.Entry _entry;
        readonly Thread _thread;
        readonly SemaphoreSlim _go = new(0);
        readonly ManualResetEventSlim _idle = new(true);
        readonly ManualResetEventSlim _ready = new(false);
        Action? _job;
        Exception? _error;
        Exception? _startError;
        volatile bool _exit;

        public int Tid { get; private set; }
        public bool Busy => !_idle.IsSet;

        public Worker(LcoreMap.Entry entry)
        {
            _entry = entry;
            _thread = new Thread(Run) { IsBackground = true, Name = $"lcore-{entry.Lcore}" };
            _thread.Start();
        }

        public void WaitReady()
        {
            _ready.Wait();
            if (_startError is not null) throw new InvalidOperationException($"lcore {_entry.Lcore}: {_startError.Message}", _startError);
        }

        void Run()
        {
            try
            {
                Libc.PinCurrentThread(_entry.Cpus);
                Lcore.SetCurrent(_entry.Lcore);
                Tid = Libc.GetTid();
            }
            catch (Exception e) { _startError = e; }
            _ready.Set();
            if (_startError is not null) return;
            while (true)
            {
                _go.Wait();
                if (_exit) return;
                try { _job!(); }
                catch (Exception e) { _error = e; }
                _job = null;
                _idle.Set();
            }
        }

        public void Launch(Action job)
        {
            if (!_idle.IsSet) throw new InvalidOperationException($"lcore {_entry.Lcore} is busy");
            _error = null;
            _job = job;
            _idle.Reset();
            _go.Release();
        }

        public void Wait()
        {
            _idle.Wait();
            if (_error is { } e)
            {
                _error = null;
                throw new InvalidOperationException($"lcore {_entry.Lcore}: {e.Message}", e);
            }
        }

        public void Shutdown()
        {
            _exit = true;
            _go.Release();
            if (!_idle.IsSet) return; // a job that never returns keeps its (background) thread
            _thread.Join();
        }
    }
}
