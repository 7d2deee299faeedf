using System.Reflection;
using System.Text.RegularExpressions;
using System.Xml.Linq;
using NUnit.Framework;

namespace RxStreams.Tests.Docs;

/// <summary>
/// The built XML docs, as IntelliSense shows them: every public type has exactly one summary (partial types document
/// only their primary declaration, or the compiler concatenates the parts), public docs name ADRs rather than issue
/// numbers, and every citation of docs/contract.md or docs/adr resolves to a guarantee or a file that exists.
/// </summary>
[TestFixture]
public partial class XmlDocsTests
{
    private static readonly Assembly[] DocumentedAssemblies =
    [
        typeof(Streams).Assembly,
        typeof(RxStreams.Testing.TestConnection).Assembly,
        typeof(RxStreams.Hosting.RxStreamsHostedServer).Assembly,
    ];

    private static IEnumerable<TestCaseData> Assemblies() =>
        DocumentedAssemblies.Select(static a => new TestCaseData(a).SetArgDisplayNames(a.GetName().Name!));

    [TestCaseSource(nameof(Assemblies))]
    public void EveryPublicType_HasExactlyOneSummary(Assembly assembly)
    {
        var members = DocMembers(assembly).ToLookup(static m => (string)m.Attribute("name")!);
        var wrong = assembly.GetExportedTypes()
            .Select(static type => "T:" + type.FullName!.Replace('+', '.'))
            .Select(id => (id, summaries: members[id].Sum(static m => m.Elements("summary").Count())))
            .Where(static t => t.summaries != 1)
            .Select(static t => $"{t.id}: {t.summaries} summaries")
            .ToList();

        Assert.That(wrong, Is.Empty, "a public type needs exactly one <summary>: on partial types, document only the primary declaration");
    }

    [TestCaseSource(nameof(Assemblies))]
    public void PublicDocs_CiteAdrsNotIssueNumbers(Assembly assembly)
    {
        var publicDocs = DocMembers(assembly).Where(m => IsPublic(assembly, (string)m.Attribute("name")!)).ToList();
        var citing = publicDocs
            .Where(static m => IssueNumber().IsMatch(m.Value))
            .Select(static m => (string)m.Attribute("name")!)
            .ToList();

        Assert.That(publicDocs, Has.Count.GreaterThanOrEqualTo(assembly.GetExportedTypes().Length), "the public members were recognised");
        Assert.That(citing, Is.Empty, "public docs say why in their own words or cite docs/adr, never \"issue N\"");
    }

    [Test]
    public void Contract_IsInTheRepository_WithNumberedTitledGuarantees()
    {
        var contract = Path.Combine(RepositoryFiles.Root(), "docs", "contract.md");
        Assert.That(File.Exists(contract), Is.True, contract);
        Assert.That(Guarantees(), Has.Count.GreaterThanOrEqualTo(10));
    }

    [TestCaseSource(nameof(Assemblies))]
    public void ContractCitations_NameAGuaranteeByItsNumberAndTitle(Assembly assembly)
    {
        var guarantees = Guarantees();
        var broken = DocMembers(assembly)
            .SelectMany(static m => GuaranteeCitation().Matches(m.Value).Select(c => (member: (string)m.Attribute("name")!, c)))
            .Where(t => !guarantees.TryGetValue(int.Parse(t.c.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), out var title)
                        || title != Whitespace().Replace(t.c.Groups[2].Value, " "))
            .Select(static t => $"{t.member}: {t.c.Value}")
            .Concat(DocMembers(assembly)
                .SelectMany(static m => UntitledCitation().Matches(m.Value).Select(c => $"{(string)m.Attribute("name")!}: {c.Value} (no title)")))
            .ToList();

        Assert.That(broken, Is.Empty, "each citation is guarantee N \"Title\" as docs/contract.md numbers and titles it");
    }

    [TestCaseSource(nameof(Assemblies))]
    public void AdrCitations_PointToFilesThatExist(Assembly assembly)
    {
        var adrs = Path.Combine(RepositoryFiles.Root(), "docs", "adr");
        var missing = DocMembers(assembly)
            .SelectMany(static m => AdrCitation().Matches(m.Value).Select(c => (member: (string)m.Attribute("name")!, file: c.Groups[1].Value)))
            .Where(t => !File.Exists(Path.Combine(adrs, t.file)))
            .Select(static t => $"{t.member}: docs/adr/{t.file}")
            .ToList();

        Assert.That(missing, Is.Empty);
    }

    /// <summary>The documented members of <paramref name="assembly"/>, from the XML file the build copies next to it.</summary>
    private static IEnumerable<XElement> DocMembers(Assembly assembly)
    {
        var path = Path.ChangeExtension(assembly.Location, ".xml");
        Assert.That(File.Exists(path), Is.True, $"{path}: the project must set GenerateDocumentationFile, and the build copies the file next to the assembly");
        return XDocument.Load(path).Descendants("member");
    }

    /// <summary>The guarantees of docs/contract.md by number: its headings read <c>### N. Title</c>.</summary>
    private static Dictionary<int, string> Guarantees() =>
        File.ReadLines(Path.Combine(RepositoryFiles.Root(), "docs", "contract.md"))
            .Select(static line => GuaranteeHeading().Match(line))
            .Where(static m => m.Success)
            .ToDictionary(static m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture), static m => m.Groups[2].Value.Trim());


    /// <summary>
    /// Whether a documentation ID (<c>T:</c>, <c>M:</c>, <c>P:</c>, <c>F:</c>, <c>E:</c>) names something a user of the
    /// assembly sees: a public type, or a public or protected member of one (explicit interface implementations count).
    /// </summary>
    private static bool IsPublic(Assembly assembly, string id)
    {
        string path = id[2..];
        int parameters = path.IndexOf('(', StringComparison.Ordinal);
        if (parameters >= 0)
        {
            path = path[..parameters];
        }

        if (id[0] == 'T')
        {
            return FindType(assembly, path) is { IsVisible: true };
        }

        int dot = path.LastIndexOf('.');
        var type = FindType(assembly, path[..dot]);
        if (type is not { IsVisible: true })
        {
            return false;
        }

        string name = GenericArity().Replace(path[(dot + 1)..], "").Replace('#', '.');
        if (name.Contains('.', StringComparison.Ordinal) && name is not ".ctor" and not ".cctor")
        {
            return true; // an explicit interface implementation: visible through the interface
        }

        const BindingFlags all = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
        return type.GetMember(name, all).Any(static member => member switch
        {
            MethodBase method => method.IsPublic || method.IsFamily || method.IsFamilyOrAssembly,
            PropertyInfo property => property.GetAccessors(nonPublic: true).Any(static a => a.IsPublic || a.IsFamily || a.IsFamilyOrAssembly),
            FieldInfo field => field.IsPublic || field.IsFamily || field.IsFamilyOrAssembly,
            EventInfo e => e.AddMethod is { } add && (add.IsPublic || add.IsFamily || add.IsFamilyOrAssembly),
            Type nested => nested.IsVisible,
            _ => false,
        });
    }

    /// <summary>Resolves a documentation type name, whose nested types are separated by dots as namespaces are.</summary>
    private static Type? FindType(Assembly assembly, string name)
    {
        var candidate = name;
        while (true)
        {
            if (assembly.GetType(candidate) is { } type)
            {
                return type;
            }

            int dot = candidate.LastIndexOf('.');
            if (dot < 0)
            {
                return null;
            }

            candidate = string.Concat(candidate.AsSpan(0, dot), "+", candidate.AsSpan(dot + 1));
        }
    }

    [GeneratedRegex(@"\bissues?\s*#?\d", RegexOptions.IgnoreCase)]
    private static partial Regex IssueNumber();

    [GeneratedRegex("guarantee (\\d+)\\s+\"([^\"]+)\"")]
    private static partial Regex GuaranteeCitation();

    [GeneratedRegex("\\b(?:contract|guarantee)\\s+\\d+(?!\\d)(?!\\s+\")", RegexOptions.IgnoreCase)]
    private static partial Regex UntitledCitation();

    [GeneratedRegex(@"^###\s+(\d+)\.\s+(.+)$")]
    private static partial Regex GuaranteeHeading();

    [GeneratedRegex(@"docs/adr/(\d{4}-[a-z0-9-]+\.md)")]
    private static partial Regex AdrCitation();

    [GeneratedRegex(@"\s+")]
    private static partial Regex Whitespace();

    [GeneratedRegex(@"``\d+$")]
    private static partial Regex GenericArity();
}
