using System.Diagnostics;
using System.Text;

namespace Datapath.Tests.Support;

/// <summary>The guest's network card: a virtio-net-pci function (1af4:1041 when modern-only).</summary>
public enum GuestNic
{
    /// <summary>No NIC at all.</summary>
    None,
    /// <summary>A NIC on an empty QEMU hub: a PCI function to bind, no traffic.</summary>
    Plain,
    /// <summary>A NIC whose device side is a vhost-user backend on <see cref="GuestOptions.VhostUserSocket"/>.</summary>
    VhostUser,
}

/// <summary>How to boot a test guest. Only <see cref="Script"/> is required.</summary>
public sealed record GuestOptions
{
    /// <summary>A bash script (host path; the guest sees the host's root read-only) that the guest runs, then powers off.</summary>
    public required string Script { get; init; }
    /// <summary>Environment for the script (it also gets RESULTS, the shared folder, and VFIO_NOIOMMU_KO when asked for).</summary>
    public IReadOnlyDictionary<string, string> Env { get; init; } = new Dictionary<string, string>();
    public int MemoryMiB { get; init; } = 512;
    public int Cpus { get; init; } = 1;
    public GuestNic Nic { get; init; } = GuestNic.None;
    public string Mac { get; init; } = "52:54:00:12:34:56";
    /// <summary>The vhost-user socket (for <see cref="GuestNic.VhostUser"/>).</summary>
    public string? VhostUserSocket { get; init; }
    /// <summary>QEMU listens on the socket (and the backend connects) instead of connecting to it; QEMU's socket is removed on dispose.</summary>
    public bool VhostUserQemuIsServer { get; init; }
    /// <summary>
    /// MSI-X vectors of the NIC. Default: 0 for a vhost-user NIC (INTx only: QEMU 7.2 under TCG
    /// segfaults in msix_set_vector_notifiers when the guest enables MSI-X on a vhost-user NIC),
    /// QEMU's default otherwise.
    /// </summary>
    public int? NicVectors { get; init; }
    /// <summary>Queue pairs of a vhost-user NIC (netdev queues=N; the device gets mq=on when N > 1).</summary>
    public int NicQueues { get; init; } = 1;
    /// <summary>The NIC offers VIRTIO_F_RING_PACKED (packed=on).</summary>
    public bool NicPacked { get; init; }
    /// <summary>
    /// A vIOMMU: q35 with intel-iommu (interrupt remapping, caching mode, device IOTLB), the NIC
    /// with iommu_platform=on,ats=on,disable-legacy=on, and the guest with intel_iommu=on iommu=pt.
    /// A vhost-user backend then has to support IOTLB messages (DPDK: iommu-support=1).
    /// </summary>
    public bool Iommu { get; init; }
    /// <summary>Also prepare the vfio.ko rebuilt with CONFIG_VFIO_NOIOMMU; the script finds it in $VFIO_NOIOMMU_KO.</summary>
    public bool VfioNoIommu { get; init; }
    /// <summary>More kernel command-line words (a script can read them from /proc/cmdline).</summary>
    public string KernelArgs { get; init; } = "";
    /// <summary>The whole boot, script included; then QEMU is killed and the run counts as timed out.</summary>
    public TimeSpan Timeout { get; init; } = TimeSpan.FromSeconds(120);
}

/// <summary>What a guest run left behind, read before its files are removed.</summary>
public sealed class GuestResult
{
    /// <summary>The guest script's exit code, or null if the guest never finished it (timeout, panic, QEMU failure).</summary>
    public int? ExitCode { get; init; }
    public bool TimedOut { get; init; }
    public int QemuExitCode { get; init; }
    public TimeSpan Elapsed { get; init; }
    /// <summary>The serial console: kernel messages, stage 2, and the script's output.</summary>
    public required string Console { get; init; }
    public required string QemuOutput { get; init; }
    /// <summary>Every file the script wrote into $RESULTS (top level, by name).</summary>
    public required IReadOnlyDictionary<string, string> Files { get; init; }

    /// <summary>The key=value lines of a result file.</summary>
    public IReadOnlyDictionary<string, string> Values(string file)
    {
        if (!Files.TryGetValue(file, out var text))
            throw new KeyNotFoundException($"the guest wrote no {file} (it wrote: {string.Join(", ", Files.Keys)})\n{Describe()}");
        return text.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(a => a.Length == 2)
            .ToDictionary(a => a[0].Trim(), a => a[1].Trim());
    }

    /// <summary>For assertion messages: how it ended and the tail of the console.</summary>
    public string Describe(int consoleLines = 60)
    {
        var lines = Console.Split('\n');
        var tail = string.Join('\n', lines.Skip(Math.Max(0, lines.Length - consoleLines)));
        return $"guest: exit={ExitCode?.ToString() ?? "none"} timedOut={TimedOut} qemu={QemuExitCode} {Elapsed.TotalSeconds:F1}s\n" +
               (QemuOutput.Length > 0 ? $"--- qemu output\n{QemuOutput}\n" : "") + $"--- console (last {consoleLines} lines)\n{tail}";
    }
}

/// <summary>
/// A QEMU guest (TCG: this machine's /dev/kvm cannot run a stock kernel) that boots the Debian
/// kernel with the host's root as its own (9p, read-only, under a tmpfs overlay), runs one script,
/// and powers off. The serial console goes to a file; a writable 9p share ($RESULTS in the guest)
/// carries results back. QEMU is always ended by its PID, and the run's files (share, console,
/// a socket QEMU created) are removed on dispose (kept when DATAPATH_GUEST_KEEP=1).
/// </summary>
public sealed class QemuGuest : IDisposable
{
    readonly Process _qemu;
    readonly GuestOptions _options;
    readonly StringBuilder _qemuOutput = new();
    readonly Stopwatch _clock;
    GuestResult? _result;
    bool _disposed;

    public string RunDir { get; }
    public string ShareDir => Path.Combine(RunDir, "share");
    public string ConsolePath => Path.Combine(RunDir, "console.log");
    public int Pid => _qemu.Id;
    public GuestImage Image { get; }

    QemuGuest(GuestOptions options)
    {
        _options = options;
        if (!File.Exists(options.Script)) throw new FileNotFoundException("guest script not found", options.Script);
        if (options.Nic == GuestNic.VhostUser && string.IsNullOrEmpty(options.VhostUserSocket))
            throw new ArgumentException("a vhost-user NIC needs VhostUserSocket");
        Image = GuestImage.Get(options.VfioNoIommu);
        RunDir = Path.Combine(Path.GetTempPath(), "datapath-guest-runs", $"{Environment.ProcessId}-{Guid.NewGuid():N}"[..20]);
        Directory.CreateDirectory(ShareDir);
        WriteEnv();

        var psi = new ProcessStartInfo("qemu-system-x86_64")
        {
            RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true, UseShellExecute = false,
        };
        foreach (var a in Arguments()) psi.ArgumentList.Add(a);
        _qemu = new Process { StartInfo = psi };
        _qemu.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (_qemuOutput) _qemuOutput.AppendLine(e.Data); };
        _qemu.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (_qemuOutput) _qemuOutput.AppendLine(e.Data); };
        _clock = Stopwatch.StartNew();
        try
        {
            _qemu.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Directory.Delete(RunDir, recursive: true);
            throw new InvalidOperationException("qemu-system-x86_64 not found: run tests/setup-deps.sh as root", e);
        }
        _qemu.BeginOutputReadLine();
        _qemu.BeginErrorReadLine();
    }

    /// <summary>Boots a guest; <see cref="WaitForExit"/> for its result; dispose always.</summary>
    public static QemuGuest Start(GuestOptions options) => new(options);

    /// <summary>Boots a guest, waits for it to power off (or time out), cleans up, returns the result.</summary>
    public static GuestResult Run(GuestOptions options)
    {
        using var guest = Start(options);
        return guest.WaitForExit();
    }

    /// <summary>The QEMU command line (the program is qemu-system-x86_64).</summary>
    public IReadOnlyList<string> Arguments()
    {
        var o = _options;
        string append = $"console=ttyS0 panic=-1 loglevel=4 dp.stage2={Image.Stage2} dp.run={Path.GetFullPath(o.Script)} dp.rwsize={Math.Max(256, o.MemoryMiB / 2)}m";
        var args = new List<string>
        {
            "-nodefaults", "-display", "none", "-no-reboot",
            "-accel", "tcg,thread=multi", "-cpu", "max",
            "-m", $"{o.MemoryMiB}", "-smp", $"{o.Cpus}",
            "-kernel", Image.Kernel, "-initrd", Image.Initrd,
            "-chardev", $"file,id=console,path={ConsolePath}", "-serial", "chardev:console",
            "-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap,id=hostroot",
            "-virtfs", $"local,path={ShareDir},mount_tag=share,security_model=none,id=share",
        };
        string nicOpts = "";
        if (o.Iommu)
        {
            // aw-bits=48: IOVA = VA needs the user-space half of a 48-bit address space (QEMU's
            // default of 39 bits refuses VFIO_IOMMU_MAP_DMA at 0x7f… with EINVAL).
            args.AddRange(["-machine", "q35,kernel-irqchip=split", "-device", "intel-iommu,intremap=on,caching-mode=on,device-iotlb=on,aw-bits=48"]);
            nicOpts = ",disable-legacy=on,iommu_platform=on,ats=on";
            append += " intel_iommu=on iommu=pt";
        }
        else
        {
            args.AddRange(["-machine", "q35"]);
        }
        int? vectors = o.NicVectors ?? (o.Nic == GuestNic.VhostUser ? 0 : null);
        if (vectors is int v) nicOpts += $",vectors={v}";
        if (o.NicPacked) nicOpts += ",packed=on";
        if (o.NicQueues > 1) nicOpts += ",mq=on";
        switch (o.Nic)
        {
            case GuestNic.None:
                break;
            case GuestNic.Plain:
                args.AddRange(["-netdev", "hubport,id=net0,hubid=0",
                    "-device", $"virtio-net-pci,netdev=net0,mac={o.Mac},romfile={nicOpts}"]);
                break;
            case GuestNic.VhostUser:
                // vhost-user needs the guest's RAM in a shareable fd
                args.AddRange(["-object", $"memory-backend-memfd,id=mem,size={o.MemoryMiB}M,share=on", "-numa", "node,memdev=mem",
                    "-chardev", $"socket,id=vhu0,path={o.VhostUserSocket}{(o.VhostUserQemuIsServer ? ",server=on,wait=off" : "")}",
                    "-netdev", $"vhost-user,id=net0,chardev=vhu0,queues={o.NicQueues}",
                    "-device", $"virtio-net-pci,netdev=net0,mac={o.Mac},romfile={nicOpts}"]);
                break;
        }
        if (o.KernelArgs.Length > 0) append += " " + o.KernelArgs;
        args.AddRange(["-append", append]);
        return args;
    }

    void WriteEnv()
    {
        var env = new Dictionary<string, string>(_options.Env);
        if (Image.VfioNoIommuModule is string ko) env["VFIO_NOIOMMU_KO"] = ko;
        var sb = new StringBuilder();
        foreach (var (k, v) in env)
        {
            if (k.Length == 0 || !k.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(k[0]))
                throw new ArgumentException($"not a shell variable name: '{k}'");
            sb.Append("export ").Append(k).Append("='").Append(v.Replace("'", "'\\''")).Append("'\n");
        }
        File.WriteAllText(Path.Combine(ShareDir, ".env"), sb.ToString());
    }

    /// <summary>Waits until the guest powers off or the timeout passes (then QEMU is killed).</summary>
    public GuestResult WaitForExit()
    {
        if (_result is not null) return _result;
        var remaining = _options.Timeout - _clock.Elapsed;
        bool exited = _qemu.WaitForExit(remaining > TimeSpan.Zero ? remaining : TimeSpan.Zero);
        if (!exited) Kill();
        _qemu.WaitForExit(); // drains the output readers
        var elapsed = _clock.Elapsed;

        var files = new Dictionary<string, string>();
        foreach (var f in Directory.EnumerateFiles(ShareDir))
        {
            string name = Path.GetFileName(f);
            if (!name.StartsWith('.')) files[name] = File.ReadAllText(f);
        }
        string exitFile = Path.Combine(ShareDir, ".exit-code");
        int? exitCode = File.Exists(exitFile) && int.TryParse(File.ReadAllText(exitFile).Trim(), out int rc) ? rc : null;
        string qemuOutput;
        lock (_qemuOutput) qemuOutput = _qemuOutput.ToString();
        _result = new GuestResult
        {
            ExitCode = exited ? exitCode : null,
            TimedOut = !exited,
            QemuExitCode = _qemu.ExitCode,
            Elapsed = elapsed,
            Console = File.Exists(ConsolePath) ? File.ReadAllText(ConsolePath) : "",
            QemuOutput = qemuOutput,
            Files = files,
        };
        return _result;
    }

    void Kill()
    {
        try
        {
            if (!_qemu.HasExited)
            {
                _qemu.Kill(); // this PID only: QEMU starts no children
                _qemu.WaitForExit(10_000);
            }
        }
        catch (InvalidOperationException) { }
    }

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Kill();
        _qemu.Dispose();
        if (_options.Nic == GuestNic.VhostUser && _options.VhostUserQemuIsServer && _options.VhostUserSocket is string sock)
            File.Delete(sock);
        if (Environment.GetEnvironmentVariable("DATAPATH_GUEST_KEEP") != "1")
        {
            try { Directory.Delete(RunDir, recursive: true); }
            catch (DirectoryNotFoundException) { }
            try { Directory.Delete(Path.GetDirectoryName(RunDir)!); } // only when no other run is in it
            catch (IOException) { }
        }
    }
}
