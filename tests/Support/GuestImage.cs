using System.Diagnostics;

namespace Datapath.Tests.Support;

/// <summary>
/// What a test guest boots: the Debian kernel (PVH vmlinux), the busybox initramfs, stage 2, and on
/// request the vfio.ko rebuilt with CONFIG_VFIO_NOIOMMU. Built by tests/guest/prepare-guest.sh,
/// cached under /tmp/datapath-guest across runs, and asked for once per test process.
/// </summary>
public sealed class GuestImage
{
    public required string KernelVersion { get; init; }
    public required string Kernel { get; init; }
    public required string Initrd { get; init; }
    public required string Stage2 { get; init; }
    /// <summary>The noiommu vfio.ko (insmod it with enable_unsafe_noiommu_mode=1), if asked for.</summary>
    public string? VfioNoIommuModule { get; init; }

    static readonly Lock Gate = new();
    static GuestImage? _base, _noIommu;

    public static string ScriptsDir => Path.Combine(RepoPaths.Root, "tests/guest");

    /// <summary>The image; with <paramref name="noIommu"/> also the rebuilt vfio.ko (slow the first time).</summary>
    public static GuestImage Get(bool noIommu = false)
    {
        lock (Gate)
        {
            if (noIommu) return _noIommu ??= Prepare(noIommu: true);
            return _base ??= _noIommu ?? Prepare(noIommu: false);
        }
    }

    static GuestImage Prepare(bool noIommu)
    {
        string script = Path.Combine(ScriptsDir, "prepare-guest.sh");
        var psi = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(script);
        if (noIommu) psi.ArgumentList.Add("noiommu");
        using var p = Process.Start(psi) ?? throw new InvalidOperationException("cannot start " + script);
        var stderr = p.StandardError.ReadToEndAsync();
        string stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(15)))
        {
            p.Kill();
            throw new TimeoutException($"{script} took more than 15 minutes");
        }
        if (p.ExitCode != 0)
            throw new InvalidOperationException($"{script} failed (exit {p.ExitCode}); run tests/setup-deps.sh as root first:\n{stderr.Result}");
        var kv = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries)
            .Select(l => l.Split('=', 2)).Where(a => a.Length == 2).ToDictionary(a => a[0], a => a[1]);
        string Need(string key) => kv.TryGetValue(key, out var v) ? v : throw new InvalidOperationException($"{script} printed no {key}=");
        return new GuestImage
        {
            KernelVersion = Need("KVER"),
            Kernel = Need("KERNEL"),
            Initrd = Need("INITRD"),
            Stage2 = Need("STAGE2"),
            VfioNoIommuModule = noIommu ? Need("VFIO_NOIOMMU_KO") : null,
        };
    }
}
