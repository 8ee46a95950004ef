package dev.lethe.examples.cli;

import dev.lethe.cifar.CifarVariant;
import dev.lethe.moe.model.MoeResNet;
import dev.lethe.unlearn.Method;
import dev.lethe.unlearn.Scope;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.TypeConversionException;

/**
 * Picocli converters that accept the command line's spelling of enums: lower case with hyphens
 * ({@code expert-targeted}, {@code experts-and-router}, {@code cifar10}), and the candidate lists
 * shown in {@code --help}.
 */
public final class Converters {

    private Converters() {}

    /** "expert-targeted" for {@code EXPERT_TARGETED}. */
    public static String cliName(Enum<?> value) {
        return value.name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    static <E extends Enum<E>> E parse(Class<E> type, String text, String option) {
        String key = text.trim().toUpperCase(Locale.ROOT).replace('-', '_');
        for (E e : type.getEnumConstants()) {
            if (e.name().equals(key)) {
                return e;
            }
        }
        throw new TypeConversionException(
                "'" + text + "' is not a valid " + option + "; choose one of " + names(type));
    }

    static <E extends Enum<E>> List<String> names(Class<E> type) {
        List<String> out = new ArrayList<>();
        for (E e : type.getEnumConstants()) {
            out.add(cliName(e));
        }
        return out;
    }

    /** Parses {@code --method}. */
    static final class MethodConverter implements ITypeConverter<Method> {
        @Override
        public Method convert(String value) {
            return parse(Method.class, value, "method");
        }
    }

    /** Lists {@code --method} values. */
    static final class MethodCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return names(Method.class).iterator();
        }
    }

    /** Parses {@code --scope}. */
    static final class ScopeConverter implements ITypeConverter<Scope> {
        @Override
        public Scope convert(String value) {
            return parse(Scope.class, value, "scope");
        }
    }

    /** Lists {@code --scope} values. */
    static final class ScopeCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return names(Scope.class).iterator();
        }
    }

    /** Parses {@code --dataset}: cifar10 / cifar-10 / cifar100 / cifar-100, any case. */
    static final class VariantConverter implements ITypeConverter<CifarVariant> {
        @Override
        public CifarVariant convert(String value) {
            String v = value.trim().toLowerCase(Locale.ROOT).replace("-", "");
            if (v.equals("cifar10")) {
                return CifarVariant.CIFAR10;
            }
            if (v.equals("cifar100")) {
                return CifarVariant.CIFAR100;
            }
            throw new TypeConversionException("'" + value + "' is not a valid dataset; choose cifar10 or cifar100");
        }
    }

    /** Lists {@code --dataset} values. */
    static final class VariantCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return List.of("cifar10", "cifar100").iterator();
        }
    }

    /** Lists {@code --recipe} values: {@link Recipes#names()}. */
    public static final class RecipeCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Recipes.names().iterator();
        }
    }

    /** Lists {@code lethe protocol --recipes} values: {@link Recipes#protocolNames()}. */
    public static final class ProtocolRecipeCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return Recipes.protocolNames().iterator();
        }
    }

    /** Lists {@code --layout} values. */
    static final class LayoutCandidates implements Iterable<String> {
        @Override
        public Iterator<String> iterator() {
            return names(MoeResNet.Style.class).iterator();
        }
    }

    /** Parses a comma-separated list of integers ({@code --widths 16,32,64}, {@code --moe-stages 2,3}). */
    public static final class IntListConverter implements ITypeConverter<IntList> {
        @Override
        public IntList convert(String value) {
            String[] parts = value.split(",", -1);
            int[] values = new int[parts.length];
            for (int i = 0; i < parts.length; i++) {
                try {
                    values[i] = Integer.parseInt(parts[i].trim());
                } catch (NumberFormatException e) {
                    throw new TypeConversionException("'" + value + "' is not a comma-separated list of integers");
                }
            }
            return new IntList(values);
        }
    }
}
