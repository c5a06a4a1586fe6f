import { z } from 'zod';
export declare const studyModelSchema: z.ZodObject<{
    name: z.ZodString;
    architecture: z.ZodOptional<z.ZodString>;
    config: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodUnknown>>;
}, z.core.$strict>;
export declare const trainingSchema: z.ZodObject<{
    epochs: z.ZodDefault<z.ZodInt>;
    batch_size: z.ZodDefault<z.ZodInt>;
    learning_rate: z.ZodDefault<z.ZodNumber>;
    seed: z.ZodDefault<z.ZodInt>;
}, z.core.$strict>;
/** Which cohorts train, which validate (model selection, threshold), which are held out. */
export declare const cohortRolesSchema: z.ZodObject<{
    train: z.ZodDefault<z.ZodArray<z.ZodLiteral<"train">>>;
    validation: z.ZodDefault<z.ZodArray<z.ZodLiteral<"validation">>>;
    held_out: z.ZodDefault<z.ZodArray<z.ZodString>>;
}, z.core.$strict>;
export declare const evaluationSchema: z.ZodObject<{
    selection: z.ZodDefault<z.ZodEnum<{
        final: "final";
        best_validation_auc: "best_validation_auc";
    }>>;
    threshold: z.ZodDefault<z.ZodObject<{
        rule: z.ZodDefault<z.ZodEnum<{
            youden: "youden";
            target_sensitivity: "target_sensitivity";
            target_npv: "target_npv";
            fixed: "fixed";
        }>>;
        value: z.ZodDefault<z.ZodNumber>;
    }, z.core.$strict>>;
    privacy: z.ZodDefault<z.ZodEnum<{
        predictions: "predictions";
        aggregate: "aggregate";
    }>>;
    deadline_s: z.ZodDefault<z.ZodNumber>;
    bootstrap: z.ZodDefault<z.ZodInt>;
    reference_model: z.ZodOptional<z.ZodString>;
}, z.core.$strict>;
export declare const studySchema: z.ZodObject<{
    id: z.ZodString;
    title: z.ZodOptional<z.ZodString>;
    rounds: z.ZodInt;
    min_sites: z.ZodInt;
    sites: z.ZodOptional<z.ZodArray<z.ZodString>>;
    round_deadline_s: z.ZodDefault<z.ZodNumber>;
    reconnect_grace_s: z.ZodDefault<z.ZodNumber>;
    join_timeout_s: z.ZodDefault<z.ZodNumber>;
    models: z.ZodArray<z.ZodObject<{
        name: z.ZodString;
        architecture: z.ZodOptional<z.ZodString>;
        config: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodUnknown>>;
    }, z.core.$strict>>;
    training: z.ZodDefault<z.ZodObject<{
        epochs: z.ZodDefault<z.ZodInt>;
        batch_size: z.ZodDefault<z.ZodInt>;
        learning_rate: z.ZodDefault<z.ZodNumber>;
        seed: z.ZodDefault<z.ZodInt>;
    }, z.core.$strict>>;
    cohorts: z.ZodDefault<z.ZodObject<{
        train: z.ZodDefault<z.ZodArray<z.ZodLiteral<"train">>>;
        validation: z.ZodDefault<z.ZodArray<z.ZodLiteral<"validation">>>;
        held_out: z.ZodDefault<z.ZodArray<z.ZodString>>;
    }, z.core.$strict>>;
    dp: z.ZodOptional<z.ZodObject<{
        clip: z.ZodNumber;
        noise_multiplier: z.ZodNumber;
        delta: z.ZodDefault<z.ZodNumber>;
    }, z.core.$strict>>;
    evaluation: z.ZodOptional<z.ZodObject<{
        selection: z.ZodDefault<z.ZodEnum<{
            final: "final";
            best_validation_auc: "best_validation_auc";
        }>>;
        threshold: z.ZodDefault<z.ZodObject<{
            rule: z.ZodDefault<z.ZodEnum<{
                youden: "youden";
                target_sensitivity: "target_sensitivity";
                target_npv: "target_npv";
                fixed: "fixed";
            }>>;
            value: z.ZodDefault<z.ZodNumber>;
        }, z.core.$strict>>;
        privacy: z.ZodDefault<z.ZodEnum<{
            predictions: "predictions";
            aggregate: "aggregate";
        }>>;
        deadline_s: z.ZodDefault<z.ZodNumber>;
        bootstrap: z.ZodDefault<z.ZodInt>;
        reference_model: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>>;
    strategy: z.ZodDefault<z.ZodObject<{
        name: z.ZodString;
    }, z.core.$loose>>;
    outlier_norm_factor: z.ZodDefault<z.ZodNumber>;
}, z.core.$strict>;
export type StudyConfig = z.output<typeof studySchema>;
export declare const coordinatorSchema: z.ZodObject<{
    listen: z.ZodDefault<z.ZodString>;
    data_dir: z.ZodString;
    tls: z.ZodOptional<z.ZodObject<{
        ca: z.ZodString;
        cert: z.ZodString;
        key: z.ZodString;
    }, z.core.$strict>>;
    insecure: z.ZodDefault<z.ZodBoolean>;
    audit_dir: z.ZodOptional<z.ZodString>;
    revoked_fingerprints: z.ZodDefault<z.ZodArray<z.ZodString>>;
    nats_url: z.ZodOptional<z.ZodString>;
}, z.core.$strict>;
export type CoordinatorConfig = z.output<typeof coordinatorSchema>;
/** The coordinator's config file: the study and where/how to serve it. */
export declare const coordinatorFileSchema: z.ZodObject<{
    study: z.ZodObject<{
        id: z.ZodString;
        title: z.ZodOptional<z.ZodString>;
        rounds: z.ZodInt;
        min_sites: z.ZodInt;
        sites: z.ZodOptional<z.ZodArray<z.ZodString>>;
        round_deadline_s: z.ZodDefault<z.ZodNumber>;
        reconnect_grace_s: z.ZodDefault<z.ZodNumber>;
        join_timeout_s: z.ZodDefault<z.ZodNumber>;
        models: z.ZodArray<z.ZodObject<{
            name: z.ZodString;
            architecture: z.ZodOptional<z.ZodString>;
            config: z.ZodDefault<z.ZodRecord<z.ZodString, z.ZodUnknown>>;
        }, z.core.$strict>>;
        training: z.ZodDefault<z.ZodObject<{
            epochs: z.ZodDefault<z.ZodInt>;
            batch_size: z.ZodDefault<z.ZodInt>;
            learning_rate: z.ZodDefault<z.ZodNumber>;
            seed: z.ZodDefault<z.ZodInt>;
        }, z.core.$strict>>;
        cohorts: z.ZodDefault<z.ZodObject<{
            train: z.ZodDefault<z.ZodArray<z.ZodLiteral<"train">>>;
            validation: z.ZodDefault<z.ZodArray<z.ZodLiteral<"validation">>>;
            held_out: z.ZodDefault<z.ZodArray<z.ZodString>>;
        }, z.core.$strict>>;
        dp: z.ZodOptional<z.ZodObject<{
            clip: z.ZodNumber;
            noise_multiplier: z.ZodNumber;
            delta: z.ZodDefault<z.ZodNumber>;
        }, z.core.$strict>>;
        evaluation: z.ZodOptional<z.ZodObject<{
            selection: z.ZodDefault<z.ZodEnum<{
                final: "final";
                best_validation_auc: "best_validation_auc";
            }>>;
            threshold: z.ZodDefault<z.ZodObject<{
                rule: z.ZodDefault<z.ZodEnum<{
                    youden: "youden";
                    target_sensitivity: "target_sensitivity";
                    target_npv: "target_npv";
                    fixed: "fixed";
                }>>;
                value: z.ZodDefault<z.ZodNumber>;
            }, z.core.$strict>>;
            privacy: z.ZodDefault<z.ZodEnum<{
                predictions: "predictions";
                aggregate: "aggregate";
            }>>;
            deadline_s: z.ZodDefault<z.ZodNumber>;
            bootstrap: z.ZodDefault<z.ZodInt>;
            reference_model: z.ZodOptional<z.ZodString>;
        }, z.core.$strict>>;
        strategy: z.ZodDefault<z.ZodObject<{
            name: z.ZodString;
        }, z.core.$loose>>;
        outlier_norm_factor: z.ZodDefault<z.ZodNumber>;
    }, z.core.$strict>;
    coordinator: z.ZodObject<{
        listen: z.ZodDefault<z.ZodString>;
        data_dir: z.ZodString;
        tls: z.ZodOptional<z.ZodObject<{
            ca: z.ZodString;
            cert: z.ZodString;
            key: z.ZodString;
        }, z.core.$strict>>;
        insecure: z.ZodDefault<z.ZodBoolean>;
        audit_dir: z.ZodOptional<z.ZodString>;
        revoked_fingerprints: z.ZodDefault<z.ZodArray<z.ZodString>>;
        nats_url: z.ZodOptional<z.ZodString>;
    }, z.core.$strict>;
}, z.core.$strict>;
export type CoordinatorFile = z.output<typeof coordinatorFileSchema>;
