using NUnit.Framework;

namespace RxStreams.Tests.Docs;

/// <summary>Files of the clone the tests were built from, for tests that hold the README to the code it shows.</summary>
internal static class RepositoryFiles
{
    /// <summary>The first directory above the test output that holds RxStreams.sln.</summary>
    public static string Root()
    {
        for (var dir = new DirectoryInfo(TestContext.CurrentContext.TestDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "RxStreams.sln")))
            {
                return dir.FullName;
            }
        }

        Assert.Fail("RxStreams.sln not found above the test directory");
        return "";
    }

    /// <summary>A file of the clone, with <c>\n</c> line ends.</summary>
    public static string Read(params string[] relativePath) =>
        File.ReadAllText(Path.Combine([Root(), .. relativePath])).ReplaceLineEndings("\n");

    /// <summary>The first <c>```csharp</c> block of the README after <paramref name="heading"/>.</summary>
    public static string ReadmeSnippetAfter(string heading)
    {
        var readme = Read("README.md");
        int at = readme.IndexOf(heading, StringComparison.Ordinal);
        Assert.That(at, Is.GreaterThanOrEqualTo(0), $"the README has no '{heading}'");
        var section = readme[at..];
        int start = section.IndexOf("```csharp\n", StringComparison.Ordinal) + "```csharp\n".Length;
        return section[start..section.IndexOf("```\n", start, StringComparison.Ordinal)];
    }
}
