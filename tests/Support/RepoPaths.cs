namespace Datapath.Tests.Support;

/// <summary>Where things are in the checkout the tests run from.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>The built `datapath` program (Release, as the tests are).</summary>
    public static string DatapathDll => Path.Combine(Root, "artifacts/bin/Datapath.App/Release/net10.0/datapath.dll");

    static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Datapath.sln"))) return dir.FullName;
        throw new InvalidOperationException("Datapath.sln not found above " + AppContext.BaseDirectory);
    }
}
