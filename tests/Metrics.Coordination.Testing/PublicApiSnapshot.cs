using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text;

namespace Metrics.Coordination.Testing;

/// <summary>
/// Lists an assembly's public surface (types and their public/protected members, one line each, sorted) so a test
/// can compare it with the package's checked-in <c>PublicAPI.txt</c>: API changes then show up in diffs.
/// </summary>
public static class PublicApiSnapshot
{
    /// <summary>The public API of <paramref name="assembly"/>, one sorted line per member.</summary>
    public static string Describe(Assembly assembly)
    {
        var lines = new List<string>();
        foreach (var type in assembly.GetExportedTypes())
        {
            if (type.GetCustomAttribute<CompilerGeneratedAttribute>() is not null)
            {
                continue;
            }

            var typeName = Name(type);
            lines.Add($"{Kind(type)} {typeName}{Bases(type)}");
            const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;
            foreach (var member in type.GetMembers(flags))
            {
                var line = Describe(member);
                if (line is not null)
                {
                    lines.Add($"{typeName}.{line}");
                }
            }
        }

        lines.Sort(StringComparer.Ordinal);
        return string.Join("\n", lines) + "\n";
    }

    /// <summary>
    /// Compares <paramref name="assembly"/>'s API with <c>PublicAPI.txt</c> in <paramref name="packageDirectory"/>.
    /// On a difference, writes <c>PublicAPI.received.txt</c> next to it and returns a message; returns null when equal.
    /// </summary>
    public static string? Verify(Assembly assembly, string packageDirectory)
    {
        var actual = Describe(assembly);
        var path = Path.Combine(packageDirectory, "PublicAPI.txt");
        var expected = File.Exists(path) ? File.ReadAllText(path).ReplaceLineEndings("\n") : string.Empty;
        if (expected == actual)
        {
            return null;
        }

        var received = Path.Combine(packageDirectory, "PublicAPI.received.txt");
        File.WriteAllText(received, actual);
        var added = actual.Split('\n').Except(expected.Split('\n')).Take(20);
        var removed = expected.Split('\n').Except(actual.Split('\n')).Take(20);
        return $"Public API of {assembly.GetName().Name} differs from {path}. If intended, replace it with {received}.\n" +
               $"Added:\n  {string.Join("\n  ", added)}\nRemoved:\n  {string.Join("\n  ", removed)}";
    }

    /// <summary>Finds the repository root (the folder holding Metrics.Coordination.sln) from the test's base directory.</summary>
    public static string RepositoryRoot()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Metrics.Coordination.sln")))
        {
            dir = dir.Parent;
        }

        return dir?.FullName ?? throw new InvalidOperationException("Metrics.Coordination.sln not found above " + AppContext.BaseDirectory);
    }

    private static string? Describe(MemberInfo member)
    {
        switch (member)
        {
            case ConstructorInfo c when Visible(c):
                return $"ctor({Parameters(c.GetParameters())})";
            case MethodInfo m when Visible(m) && !m.IsSpecialName:
                return $"{(m.IsStatic ? "static " : string.Empty)}{(m.IsAbstract ? "abstract " : m.IsVirtual && !m.IsFinal ? "virtual " : string.Empty)}{Name(m.ReturnType)} {m.Name}{(m.IsGenericMethod ? "<" + string.Join(",", m.GetGenericArguments().Select(Name)) + ">" : string.Empty)}({Parameters(m.GetParameters())})";
            case MethodInfo m when Visible(m) && m.Name.StartsWith("op_", StringComparison.Ordinal):
                return $"static {Name(m.ReturnType)} {m.Name}({Parameters(m.GetParameters())})";
            case PropertyInfo p:
                var get = p.GetMethod is { } g && Visible(g) ? "get; " : string.Empty;
                var set = p.SetMethod is { } s && Visible(s) ? (s.ReturnParameter.GetRequiredCustomModifiers().Any(t => t.Name == "IsExternalInit") ? "init; " : "set; ") : string.Empty;
                if (get.Length == 0 && set.Length == 0)
                {
                    return null;
                }

                var index = p.GetIndexParameters();
                var name = index.Length > 0 ? $"this[{Parameters(index)}]" : p.Name;
                return $"{((p.GetMethod ?? p.SetMethod)!.IsStatic ? "static " : string.Empty)}{Name(p.PropertyType)} {name} {{ {get}{set}}}";
            case FieldInfo f when f.IsPublic || f.IsFamily || f.IsFamilyOrAssembly:
                if (f.DeclaringType!.IsEnum && f.IsSpecialName)
                {
                    return null;
                }

                return f.IsLiteral
                    ? $"const {Name(f.FieldType)} {f.Name} = {f.GetRawConstantValue()}"
                    : $"{(f.IsStatic ? "static " : string.Empty)}{(f.IsInitOnly ? "readonly " : string.Empty)}{Name(f.FieldType)} {f.Name}";
            case EventInfo e:
                return $"event {Name(e.EventHandlerType!)} {e.Name}";
            default:
                return null;
        }
    }

    private static bool Visible(MethodBase m) => m.IsPublic || m.IsFamily || m.IsFamilyOrAssembly;

    private static string Parameters(ParameterInfo[] parameters) => string.Join(", ", parameters.Select(p =>
        $"{(p.IsOut ? "out " : p.ParameterType.IsByRef ? (p.IsIn ? "in " : "ref ") : string.Empty)}{(p.GetCustomAttribute<ParamArrayAttribute>() is not null || p.GetCustomAttribute<ParamCollectionAttribute>() is not null ? "params " : string.Empty)}{Name(p.ParameterType)} {p.Name}{(p.HasDefaultValue ? " = " + (p.DefaultValue ?? "null") : string.Empty)}"));

    private static string Kind(Type t) =>
        t.IsEnum ? "enum" :
        t.IsInterface ? "interface" :
        t.IsValueType ? (t.IsByRefLike ? "ref struct" : t.GetCustomAttribute<IsReadOnlyAttribute>() is not null ? "readonly struct" : "struct") :
        typeof(Delegate).IsAssignableFrom(t) ? "delegate" :
        t.IsAbstract && t.IsSealed ? "static class" :
        t.IsAbstract ? "abstract class" :
        t.IsSealed ? "sealed class" : "class";

    private static string Bases(Type t)
    {
        var bases = new List<string>();
        if (t.BaseType is { } b && b != typeof(object) && b != typeof(ValueType) && b != typeof(Enum) && !typeof(Delegate).IsAssignableFrom(t))
        {
            bases.Add(Name(b));
        }

        bases.AddRange(t.GetInterfaces().Where(i => i.IsPublic || i.IsNestedPublic).Select(Name).Order(StringComparer.Ordinal));
        return bases.Count == 0 ? string.Empty : " : " + string.Join(", ", bases);
    }

    private static string Name(Type t)
    {
        if (t.IsGenericParameter)
        {
            return t.Name;
        }

        if (t.IsByRef)
        {
            return Name(t.GetElementType()!);
        }

        if (t.IsArray)
        {
            return Name(t.GetElementType()!) + "[]";
        }

        if (Nullable.GetUnderlyingType(t) is { } u)
        {
            return Name(u) + "?";
        }

        var name = t.IsNested ? Name(t.DeclaringType!) + "." + t.Name : (t.Namespace is null ? t.Name : t.Namespace + "." + t.Name);
        if (!t.IsGenericType)
        {
            return name;
        }

        var tick = name.IndexOf('`', StringComparison.Ordinal);
        var sb = new StringBuilder(tick < 0 ? name : name[..tick]).Append('<');
        sb.Append(string.Join(",", t.GetGenericArguments().Select(Name)));
        return sb.Append('>').ToString();
    }
}
