;; Training kernels for the tfjs wasm backend, in WebAssembly with 128-bit SIMD, working in place on
;; the backend's own heap (the module imports the backend's memory; every pointer is a byte offset
;; of a float32 tensor there). Compiled to simd-kernels.wasm.ts by gen-simd.mjs (npm run gen:simd);
;; simd.test.ts fails when the two differ. Semantics match the tfjs cpu backend:
;;   add_bias         out[r, c] = a[r, c] + v[c]
;;   sum_rows         out[c] = sum_r x[r, c], accumulated in float64
;;   maxpool_grad_2x2 2x2 windows, stride 2, tiling the input: the window's first maximum (row-major
;;                    order) receives dy, the other three positions 0
;;   im2col_planar    the transposed im2col [K, M] of a planar [C, B, H, W] input (unit horizontal
;;                    stride and dilation), each run one memory.copy, the padding memory.fill
;;   conv3x3_c1       forward 3x3 'same' convolution, stride 1, of a one-channel input (a grey
;;                    image: DDFN's first layer) to O = 4k channels; XNNPACK's igemm does poorly with
;;                    K = 9 reductions. Nine weight vectors per 4 channels stay in registers.
;;   relu_grad        out = x > 0 ? dy : 0 (ReLU's gradient in one pass, not step, cast and multiply)
;;   gemm_nt          out[k, o] = sum_m a[k, m] * b[o, m] (the conv filter gradient from im2col and
;;                    the planar dy), 2x4 register blocks over runs of 1024 m that stay in cache;
;;                    unlike XNNPACK's matmul it packs nothing, and dy is new every step
(module
  (import "env" "memory" (memory 1))

  ;; out[r, c] = a[r, c] + v[c], rows x C floats.
  (func (export "add_bias") (param $a i32) (param $v i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $end i32) (local $rowEnd i32) (local $c i32) (local $b v128) (local $vecEnd i32)
    (local.set $end (i32.add (local.get $a) (i32.shl (i32.mul (local.get $rows) (local.get $C)) (i32.const 2))))
    ;; one channel: the bias is one number for every element
    (if (i32.eq (local.get $C) (i32.const 1))
      (then
        (local.set $b (v128.load32_splat (local.get $v)))
        (local.set $vecEnd (i32.sub (local.get $end) (i32.const 12)))
        (block $done
          (loop $vec
            (br_if $done (i32.ge_u (local.get $a) (local.get $vecEnd)))
            (v128.store (local.get $out) (f32x4.add (v128.load (local.get $a)) (local.get $b)))
            (local.set $a (i32.add (local.get $a) (i32.const 16)))
            (local.set $out (i32.add (local.get $out) (i32.const 16)))
            (br $vec)))
        (block $done1
          (loop $tail
            (br_if $done1 (i32.ge_u (local.get $a) (local.get $end)))
            (f32.store (local.get $out) (f32.add (f32.load (local.get $a)) (f32.load (local.get $v))))
            (local.set $a (i32.add (local.get $a) (i32.const 4)))
            (local.set $out (i32.add (local.get $out) (i32.const 4)))
            (br $tail)))
        (return)))
    ;; channels a multiple of 4: four channels per instruction
    (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
      (then
        (block $done
          (loop $row
            (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
            (local.set $c (i32.const 0))
            (local.set $rowEnd (i32.shl (local.get $C) (i32.const 2)))
            (loop $ch
              (v128.store (i32.add (local.get $out) (local.get $c))
                (f32x4.add (v128.load (i32.add (local.get $a) (local.get $c))) (v128.load (i32.add (local.get $v) (local.get $c)))))
              (local.set $c (i32.add (local.get $c) (i32.const 16)))
              (br_if $ch (i32.lt_u (local.get $c) (local.get $rowEnd))))
            (local.set $a (i32.add (local.get $a) (local.get $rowEnd)))
            (local.set $out (i32.add (local.get $out) (local.get $rowEnd)))
            (br $row)))
        (return)))
    ;; any other channel count: one float at a time
    (block $done
      (loop $row
        (br_if $done (i32.ge_u (local.get $a) (local.get $end)))
        (local.set $c (i32.const 0))
        (local.set $rowEnd (i32.shl (local.get $C) (i32.const 2)))
        (loop $ch
          (f32.store (i32.add (local.get $out) (local.get $c))
            (f32.add (f32.load (i32.add (local.get $a) (local.get $c))) (f32.load (i32.add (local.get $v) (local.get $c)))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $ch (i32.lt_u (local.get $c) (local.get $rowEnd))))
        (local.set $a (i32.add (local.get $a) (local.get $rowEnd)))
        (local.set $out (i32.add (local.get $out) (local.get $rowEnd)))
        (br $row))))

  ;; out[c] = sum over rows of x[r, c], in float64; rows >= 1.
  (func (export "sum_rows") (param $x i32) (param $out i32) (param $rows i32) (param $C i32)
    (local $c i32) (local $p i32) (local $r i32) (local $stride i32) (local $v v128)
    (local $lo v128) (local $hi v128) (local $acc f64)
    (local.set $stride (i32.shl (local.get $C) (i32.const 2)))
    (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
      (then
        (loop $ch
          (local.set $lo (v128.const i64x2 0 0))
          (local.set $hi (v128.const i64x2 0 0))
          (local.set $p (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
          (local.set $r (local.get $rows))
          (loop $row
            (local.set $v (v128.load (local.get $p)))
            (local.set $lo (f64x2.add (local.get $lo) (f64x2.promote_low_f32x4 (local.get $v))))
            (local.set $hi (f64x2.add (local.get $hi) (f64x2.promote_low_f32x4
              (i8x16.shuffle 8 9 10 11 12 13 14 15 0 1 2 3 4 5 6 7 (local.get $v) (local.get $v)))))
            (local.set $p (i32.add (local.get $p) (local.get $stride)))
            (local.set $r (i32.sub (local.get $r) (i32.const 1)))
            (br_if $row (local.get $r)))
          (v128.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2)))
            (i8x16.shuffle 0 1 2 3 4 5 6 7 16 17 18 19 20 21 22 23
              (f32x4.demote_f64x2_zero (local.get $lo)) (f32x4.demote_f64x2_zero (local.get $hi))))
          (local.set $c (i32.add (local.get $c) (i32.const 4)))
          (br_if $ch (i32.lt_u (local.get $c) (local.get $C))))
        (return)))
    (loop $ch
      (local.set $acc (f64.const 0))
      (local.set $p (i32.add (local.get $x) (i32.shl (local.get $c) (i32.const 2))))
      (local.set $r (local.get $rows))
      (loop $row
        (local.set $acc (f64.add (local.get $acc) (f64.promote_f32 (f32.load (local.get $p)))))
        (local.set $p (i32.add (local.get $p) (local.get $stride)))
        (local.set $r (i32.sub (local.get $r) (i32.const 1)))
        (br_if $row (local.get $r)))
      (f32.store (i32.add (local.get $out) (i32.shl (local.get $c) (i32.const 2))) (f32.demote_f64 (local.get $acc)))
      (local.set $c (i32.add (local.get $c) (i32.const 1)))
      (br_if $ch (i32.lt_u (local.get $c) (local.get $C)))))

  ;; Max-pool gradient for 2x2 windows of stride 2 that tile x exactly: x is [outRows * 2, 2 * OW, C]
  ;; (outRows = batch * outHeight), dy [outRows, OW, C], dx like x.
  (func (export "maxpool_grad_2x2") (param $x i32) (param $dy i32) (param $dx i32) (param $outRows i32) (param $OW i32) (param $C i32)
    (local $ro i32) (local $ox i32) (local $c i32) (local $cb i32) (local $rowBytes i32) (local $i i32) (local $j i32)
    (local $v0 v128) (local $v1 v128) (local $v2 v128) (local $v3 v128) (local $m v128) (local $d v128)
    (local $g1 v128) (local $g2 v128) (local $g3 v128)
    (local $s0 f32) (local $s1 f32) (local $s2 f32) (local $s3 f32) (local $sm f32) (local $sd f32) (local $w i32)
    (local.set $cb (i32.shl (local.get $C) (i32.const 2)))
    ;; bytes of one input row: 2 * OW * C floats
    (local.set $rowBytes (i32.shl (i32.mul (local.get $OW) (local.get $C)) (i32.const 3)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_u (local.get $ro) (local.get $outRows)))
        (local.set $ox (i32.const 0))
        (loop $colLoop
          ;; i: byte offset of the window's top-left element, channel 0
          (local.set $i (i32.add (i32.mul (i32.shl (local.get $ro) (i32.const 1)) (local.get $rowBytes))
                                 (i32.mul (i32.shl (local.get $ox) (i32.const 1)) (local.get $cb))))
          (local.set $c (i32.const 0))
          (if (i32.eqz (i32.and (local.get $C) (i32.const 3)))
            (then
              (loop $vec
                (local.set $j (i32.add (local.get $i) (local.get $c)))
                (local.set $v0 (v128.load (i32.add (local.get $x) (local.get $j))))
                (local.set $v1 (v128.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $cb)))))
                (local.set $v2 (v128.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $rowBytes)))))
                (local.set $v3 (v128.load (i32.add (local.get $x) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))))
                (local.set $g1 (f32x4.gt (local.get $v1) (local.get $v0)))
                (local.set $m (v128.bitselect (local.get $v1) (local.get $v0) (local.get $g1)))
                (local.set $g2 (f32x4.gt (local.get $v2) (local.get $m)))
                (local.set $m (v128.bitselect (local.get $v2) (local.get $m) (local.get $g2)))
                (local.set $g3 (f32x4.gt (local.get $v3) (local.get $m)))
                (local.set $d (v128.load (i32.add (local.get $dy)
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $ro) (local.get $OW)) (local.get $ox)) (local.get $cb)) (local.get $c)))))
                (v128.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))
                  (v128.and (local.get $d) (local.get $g3)))
                (v128.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $rowBytes)))
                  (v128.and (local.get $d) (v128.andnot (local.get $g2) (local.get $g3))))
                (v128.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $cb)))
                  (v128.and (local.get $d) (v128.andnot (v128.andnot (local.get $g1) (local.get $g2)) (local.get $g3))))
                (v128.store (i32.add (local.get $dx) (local.get $j))
                  (v128.andnot (local.get $d) (v128.or (v128.or (local.get $g1) (local.get $g2)) (local.get $g3))))
                (local.set $c (i32.add (local.get $c) (i32.const 16)))
                (br_if $vec (i32.lt_u (local.get $c) (local.get $cb)))))
            (else
              (loop $sc
                (local.set $j (i32.add (local.get $i) (local.get $c)))
                (local.set $s0 (f32.load (i32.add (local.get $x) (local.get $j))))
                (local.set $s1 (f32.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $cb)))))
                (local.set $s2 (f32.load (i32.add (local.get $x) (i32.add (local.get $j) (local.get $rowBytes)))))
                (local.set $s3 (f32.load (i32.add (local.get $x) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))))
                (local.set $sm (local.get $s0))
                (local.set $w (i32.const 0))
                (if (f32.gt (local.get $s1) (local.get $sm)) (then (local.set $sm (local.get $s1)) (local.set $w (i32.const 1))))
                (if (f32.gt (local.get $s2) (local.get $sm)) (then (local.set $sm (local.get $s2)) (local.set $w (i32.const 2))))
                (if (f32.gt (local.get $s3) (local.get $sm)) (then (local.set $w (i32.const 3))))
                (local.set $sd (f32.load (i32.add (local.get $dy)
                  (i32.add (i32.mul (i32.add (i32.mul (local.get $ro) (local.get $OW)) (local.get $ox)) (local.get $cb)) (local.get $c)))))
                (f32.store (i32.add (local.get $dx) (local.get $j))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 0))))
                (f32.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $cb)))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 1))))
                (f32.store (i32.add (local.get $dx) (i32.add (local.get $j) (local.get $rowBytes)))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 2))))
                (f32.store (i32.add (local.get $dx) (i32.add (i32.add (local.get $j) (local.get $rowBytes)) (local.get $cb)))
                  (select (local.get $sd) (f32.const 0) (i32.eq (local.get $w) (i32.const 3))))
                (local.set $c (i32.add (local.get $c) (i32.const 4)))
                (br_if $sc (i32.lt_u (local.get $c) (local.get $cb))))))
          (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
          (br_if $colLoop (i32.lt_u (local.get $ox) (local.get $OW))))
        (local.set $ro (i32.add (local.get $ro) (i32.const 1)))
        (br $rowLoop))))

  (func $hsum (param $v v128) (result f32)
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $v)) (f32x4.extract_lane 1 (local.get $v)))
             (f32.add (f32x4.extract_lane 2 (local.get $v)) (f32x4.extract_lane 3 (local.get $v)))))

  ;; sum_{i < len} a[i] * b[i]
  (func $dot (param $a i32) (param $b i32) (param $len i32) (result f32)
    (local $i i32) (local $vecBytes i32) (local $bytes i32) (local $acc v128) (local $s f32)
    (local.set $bytes (i32.shl (local.get $len) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $vecBytes)))
        (local.set $acc (f32x4.add (local.get $acc)
          (f32x4.mul (v128.load (i32.add (local.get $a) (local.get $i))) (v128.load (i32.add (local.get $b) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l)))
    (block $done2
      (loop $t
        (br_if $done2 (i32.ge_u (local.get $i) (local.get $bytes)))
        (local.set $s (f32.add (local.get $s)
          (f32.mul (f32.load (i32.add (local.get $a) (local.get $i))) (f32.load (i32.add (local.get $b) (local.get $i))))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $t)))
    (f32.add (call $hsum (local.get $acc)) (local.get $s)))

  ;; out[r, j] += sum_{i < len} a_r[i] * b_j[i] for rows a_0, a_1 (pa, pa + rsa) and b_0..b_3
  ;; (pb + j*rsb); out rows are os bytes apart.
  (func $block24 (param $pa i32) (param $pb i32) (param $rsa i32) (param $rsb i32) (param $len i32) (param $pout i32) (param $os i32)
    (local $i i32) (local $vecBytes i32) (local $a1 i32) (local $b1 i32) (local $b2 i32) (local $b3 i32)
    (local $x0 v128) (local $x1 v128) (local $y0 v128) (local $y1 v128) (local $y2 v128) (local $y3 v128)
    (local $c00 v128) (local $c01 v128) (local $c02 v128) (local $c03 v128)
    (local $c10 v128) (local $c11 v128) (local $c12 v128) (local $c13 v128)
    (local.set $a1 (i32.add (local.get $pa) (local.get $rsa)))
    (local.set $b1 (i32.add (local.get $pb) (local.get $rsb)))
    (local.set $b2 (i32.add (local.get $b1) (local.get $rsb)))
    (local.set $b3 (i32.add (local.get $b2) (local.get $rsb)))
    (local.set $vecBytes (i32.and (i32.shl (local.get $len) (i32.const 2)) (i32.const -16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $vecBytes)))
        (local.set $x0 (v128.load (i32.add (local.get $pa) (local.get $i))))
        (local.set $x1 (v128.load (i32.add (local.get $a1) (local.get $i))))
        (local.set $y0 (v128.load (i32.add (local.get $pb) (local.get $i))))
        (local.set $y1 (v128.load (i32.add (local.get $b1) (local.get $i))))
        (local.set $y2 (v128.load (i32.add (local.get $b2) (local.get $i))))
        (local.set $y3 (v128.load (i32.add (local.get $b3) (local.get $i))))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x0) (local.get $y0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x0) (local.get $y1))))
        (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $x0) (local.get $y2))))
        (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $x0) (local.get $y3))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x1) (local.get $y0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x1) (local.get $y1))))
        (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $x1) (local.get $y2))))
        (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $x1) (local.get $y3))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l)))
    ;; the last len % 4 products, one at a time, into lane 0
    (block $done2
      (loop $t
        (br_if $done2 (i32.ge_u (local.get $i) (i32.shl (local.get $len) (i32.const 2))))
        (local.set $x0 (f32x4.splat (f32.load (i32.add (local.get $pa) (local.get $i)))))
        (local.set $x1 (f32x4.splat (f32.load (i32.add (local.get $a1) (local.get $i)))))
        (local.set $y0 (f32x4.replace_lane 0 (v128.const i64x2 0 0) (f32.load (i32.add (local.get $pb) (local.get $i)))))
        (local.set $y1 (f32x4.replace_lane 0 (v128.const i64x2 0 0) (f32.load (i32.add (local.get $b1) (local.get $i)))))
        (local.set $y2 (f32x4.replace_lane 0 (v128.const i64x2 0 0) (f32.load (i32.add (local.get $b2) (local.get $i)))))
        (local.set $y3 (f32x4.replace_lane 0 (v128.const i64x2 0 0) (f32.load (i32.add (local.get $b3) (local.get $i)))))
        (local.set $c00 (f32x4.add (local.get $c00) (f32x4.mul (local.get $x0) (local.get $y0))))
        (local.set $c01 (f32x4.add (local.get $c01) (f32x4.mul (local.get $x0) (local.get $y1))))
        (local.set $c02 (f32x4.add (local.get $c02) (f32x4.mul (local.get $x0) (local.get $y2))))
        (local.set $c03 (f32x4.add (local.get $c03) (f32x4.mul (local.get $x0) (local.get $y3))))
        (local.set $c10 (f32x4.add (local.get $c10) (f32x4.mul (local.get $x1) (local.get $y0))))
        (local.set $c11 (f32x4.add (local.get $c11) (f32x4.mul (local.get $x1) (local.get $y1))))
        (local.set $c12 (f32x4.add (local.get $c12) (f32x4.mul (local.get $x1) (local.get $y2))))
        (local.set $c13 (f32x4.add (local.get $c13) (f32x4.mul (local.get $x1) (local.get $y3))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $t)))
    (f32.store offset=0 (local.get $pout) (f32.add (f32.load offset=0 (local.get $pout)) (call $hsum (local.get $c00))))
    (f32.store offset=4 (local.get $pout) (f32.add (f32.load offset=4 (local.get $pout)) (call $hsum (local.get $c01))))
    (f32.store offset=8 (local.get $pout) (f32.add (f32.load offset=8 (local.get $pout)) (call $hsum (local.get $c02))))
    (f32.store offset=12 (local.get $pout) (f32.add (f32.load offset=12 (local.get $pout)) (call $hsum (local.get $c03))))
    (local.set $pout (i32.add (local.get $pout) (local.get $os)))
    (f32.store offset=0 (local.get $pout) (f32.add (f32.load offset=0 (local.get $pout)) (call $hsum (local.get $c10))))
    (f32.store offset=4 (local.get $pout) (f32.add (f32.load offset=4 (local.get $pout)) (call $hsum (local.get $c11))))
    (f32.store offset=8 (local.get $pout) (f32.add (f32.load offset=8 (local.get $pout)) (call $hsum (local.get $c12))))
    (f32.store offset=12 (local.get $pout) (f32.add (f32.load offset=12 (local.get $pout)) (call $hsum (local.get $c13)))))

  ;; out[k, o] += dot(a row k, b row o) over len for every (k, o) with k in [k0, K), o in [o0, O):
  ;; the pairs the 2x4 blocks leave over.
  (func $rest (param $a i32) (param $b i32) (param $out i32) (param $K i32) (param $O i32) (param $rsa i32) (param $rsb i32) (param $len i32) (param $k0 i32) (param $o0 i32)
    (local $k i32) (local $o i32) (local $p i32)
    (local.set $k (local.get $k0))
    (block $kd
      (loop $kl
        (br_if $kd (i32.ge_u (local.get $k) (local.get $K)))
        (local.set $o (local.get $o0))
        (block $od
          (loop $ol
            (br_if $od (i32.ge_u (local.get $o) (local.get $O)))
            (local.set $p (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $O)) (local.get $o)) (i32.const 2))))
            (f32.store (local.get $p) (f32.add (f32.load (local.get $p))
              (call $dot (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $rsa)))
                         (i32.add (local.get $b) (i32.mul (local.get $o) (local.get $rsb))) (local.get $len))))
            (local.set $o (i32.add (local.get $o) (i32.const 1)))
            (br $ol)))
        (local.set $k (i32.add (local.get $k) (i32.const 1)))
        (br $kl))))

  ;; out [K, O] += a [K, len] (rows rsa bytes apart) times b [O, len] (rows rsb bytes apart) transposed.
  (func $gemm_acc (param $a i32) (param $rsa i32) (param $b i32) (param $rsb i32) (param $out i32) (param $K i32) (param $len i32) (param $O i32)
    (local $k i32) (local $o i32) (local $K2 i32) (local $O4 i32)
    (local.set $K2 (i32.and (local.get $K) (i32.const -2)))
    (local.set $O4 (i32.and (local.get $O) (i32.const -4)))
    (block $kd
      (loop $kl
        (br_if $kd (i32.ge_u (local.get $k) (local.get $K2)))
        (local.set $o (i32.const 0))
        (block $od
          (loop $ol
            (br_if $od (i32.ge_u (local.get $o) (local.get $O4)))
            (call $block24
              (i32.add (local.get $a) (i32.mul (local.get $k) (local.get $rsa)))
              (i32.add (local.get $b) (i32.mul (local.get $o) (local.get $rsb)))
              (local.get $rsa) (local.get $rsb) (local.get $len)
              (i32.add (local.get $out) (i32.shl (i32.add (i32.mul (local.get $k) (local.get $O)) (local.get $o)) (i32.const 2)))
              (i32.shl (local.get $O) (i32.const 2)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $ol)))
        (local.set $k (i32.add (local.get $k) (i32.const 2)))
        (br $kl)))
    ;; columns O4.. of the blocked rows, then the odd last row
    (call $rest (local.get $a) (local.get $b) (local.get $out) (local.get $K2) (local.get $O) (local.get $rsa) (local.get $rsb) (local.get $len) (i32.const 0) (local.get $O4))
    (call $rest (local.get $a) (local.get $b) (local.get $out) (local.get $K) (local.get $O) (local.get $rsa) (local.get $rsb) (local.get $len) (local.get $K2) (i32.const 0)))

  ;; out [K, O] = a [K, M] times b [O, M] transposed, over runs of 1024 m that stay in cache.
  (func (export "gemm_nt") (param $a i32) (param $b i32) (param $out i32) (param $K i32) (param $M i32) (param $O i32)
    (local $m0 i32) (local $len i32) (local $rs i32)
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (i32.mul (local.get $K) (local.get $O)) (i32.const 2)))
    (local.set $rs (i32.shl (local.get $M) (i32.const 2)))
    (block $chunksDone
      (loop $chunk
        (br_if $chunksDone (i32.ge_u (local.get $m0) (local.get $M)))
        (local.set $len (i32.sub (local.get $M) (local.get $m0)))
        (if (i32.gt_u (local.get $len) (i32.const 1024)) (then (local.set $len (i32.const 1024))))
        (call $gemm_acc (i32.add (local.get $a) (i32.shl (local.get $m0) (i32.const 2))) (local.get $rs)
                        (i32.add (local.get $b) (i32.shl (local.get $m0) (i32.const 2))) (local.get $rs)
                        (local.get $out) (local.get $K) (local.get $len) (local.get $O))
        (local.set $m0 (i32.add (local.get $m0) (local.get $len)))
        (br $chunk))))

  ;; Conv filter gradient out [FH, FW, C, O] from x planar [C, B, H, W] and dy planar [O, B*OH*OW]
  ;; (unit horizontal stride and dilation): for each run of R output rows (b, oy), the im2col of the
  ;; run is written into `scratch` ([K, R*OW], small enough to stay in cache; each input run one
  ;; memory.copy, the padding memory.fill) and multiplied at once with the matching dy columns, so
  ;; the full [K, M] matrix never goes through memory.
  (func (export "conv_filter_grad")
    (param $x i32) (param $dy i32) (param $out i32) (param $scratch i32) (param $R i32)
    (param $B i32) (param $H i32) (param $W i32) (param $C i32) (param $OH i32) (param $OW i32)
    (param $FH i32) (param $FW i32) (param $SH i32) (param $DH i32) (param $PT i32) (param $PL i32) (param $O i32)
    (local $r0 i32) (local $rows i32) (local $len i32) (local $lenBytes i32) (local $K i32) (local $M i32)
    (local $fy i32) (local $fx i32) (local $c i32) (local $r i32) (local $b i32) (local $oy i32) (local $iy i32)
    (local $xOff i32) (local $lo i32) (local $hi i32) (local $p i32) (local $plane i32) (local $owBytes i32) (local $rowsTotal i32)
    (local.set $K (i32.mul (i32.mul (local.get $FH) (local.get $FW)) (local.get $C)))
    (local.set $M (i32.mul (i32.mul (local.get $B) (local.get $OH)) (local.get $OW)))
    (local.set $rowsTotal (i32.mul (local.get $B) (local.get $OH)))
    (local.set $owBytes (i32.shl (local.get $OW) (i32.const 2)))
    (memory.fill (local.get $out) (i32.const 0) (i32.shl (i32.mul (local.get $K) (local.get $O)) (i32.const 2)))
    (block $runsDone
      (loop $run
        (br_if $runsDone (i32.ge_u (local.get $r0) (local.get $rowsTotal)))
        (local.set $rows (i32.sub (local.get $rowsTotal) (local.get $r0)))
        (if (i32.gt_u (local.get $rows) (local.get $R)) (then (local.set $rows (local.get $R))))
        (local.set $len (i32.mul (local.get $rows) (local.get $OW)))
        (local.set $lenBytes (i32.shl (local.get $len) (i32.const 2)))
        ;; im2col of output rows [r0, r0 + rows) into scratch [K, len]
        (local.set $p (local.get $scratch))
        (local.set $fy (i32.const 0))
        (loop $fyLoop
          (local.set $fx (i32.const 0))
          (loop $fxLoop
            (local.set $xOff (i32.sub (local.get $fx) (local.get $PL)))
            ;; output columns whose input column is inside the row: lo <= ox < hi
            (local.set $lo (i32.sub (i32.const 0) (local.get $xOff)))
            (if (i32.lt_s (local.get $lo) (i32.const 0)) (then (local.set $lo (i32.const 0))))
            (if (i32.gt_s (local.get $lo) (local.get $OW)) (then (local.set $lo (local.get $OW))))
            (local.set $hi (i32.sub (local.get $W) (local.get $xOff)))
            (if (i32.gt_s (local.get $hi) (local.get $OW)) (then (local.set $hi (local.get $OW))))
            (if (i32.lt_s (local.get $hi) (local.get $lo)) (then (local.set $hi (local.get $lo))))
            (local.set $c (i32.const 0))
            (loop $cLoop
              (local.set $r (local.get $r0))
              (loop $rLoop
                (local.set $b (i32.div_u (local.get $r) (local.get $OH)))
                (local.set $oy (i32.rem_u (local.get $r) (local.get $OH)))
                (local.set $plane (i32.add (local.get $x)
                  (i32.shl (i32.mul (i32.add (i32.mul (local.get $c) (local.get $B)) (local.get $b)) (i32.mul (local.get $H) (local.get $W))) (i32.const 2))))
                (local.set $iy (i32.sub (i32.add (i32.mul (local.get $oy) (local.get $SH)) (i32.mul (local.get $fy) (local.get $DH))) (local.get $PT)))
                (if (i32.or (i32.lt_s (local.get $iy) (i32.const 0)) (i32.ge_s (local.get $iy) (local.get $H)))
                  (then (memory.fill (local.get $p) (i32.const 0) (local.get $owBytes)))
                  (else
                    (memory.fill (local.get $p) (i32.const 0) (i32.shl (local.get $lo) (i32.const 2)))
                    (memory.copy
                      (i32.add (local.get $p) (i32.shl (local.get $lo) (i32.const 2)))
                      (i32.add (local.get $plane) (i32.shl (i32.add (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $lo)) (local.get $xOff)) (i32.const 2)))
                      (i32.shl (i32.sub (local.get $hi) (local.get $lo)) (i32.const 2)))
                    (memory.fill (i32.add (local.get $p) (i32.shl (local.get $hi) (i32.const 2))) (i32.const 0)
                      (i32.shl (i32.sub (local.get $OW) (local.get $hi)) (i32.const 2)))))
                (local.set $p (i32.add (local.get $p) (local.get $owBytes)))
                (local.set $r (i32.add (local.get $r) (i32.const 1)))
                (br_if $rLoop (i32.lt_u (local.get $r) (i32.add (local.get $r0) (local.get $rows)))))
              (local.set $c (i32.add (local.get $c) (i32.const 1)))
              (br_if $cLoop (i32.lt_u (local.get $c) (local.get $C))))
            (local.set $fx (i32.add (local.get $fx) (i32.const 1)))
            (br_if $fxLoop (i32.lt_u (local.get $fx) (local.get $FW))))
          (local.set $fy (i32.add (local.get $fy) (i32.const 1)))
          (br_if $fyLoop (i32.lt_u (local.get $fy) (local.get $FH))))
        (call $gemm_acc (local.get $scratch) (local.get $lenBytes)
                        (i32.add (local.get $dy) (i32.shl (i32.mul (local.get $r0) (local.get $OW)) (i32.const 2))) (i32.shl (local.get $M) (i32.const 2))
                        (local.get $out) (local.get $K) (local.get $len) (local.get $O))
        (local.set $r0 (i32.add (local.get $r0) (local.get $rows)))
        (br $run))))

  ;; out[i] = x[i] > 0 ? dy[i] : 0 for n floats
  (func (export "relu_grad") (param $dy i32) (param $x i32) (param $out i32) (param $n i32)
    (local $i i32) (local $bytes i32) (local $vecBytes i32)
    (local.set $bytes (i32.shl (local.get $n) (i32.const 2)))
    (local.set $vecBytes (i32.and (local.get $bytes) (i32.const -16)))
    (block $done
      (loop $l
        (br_if $done (i32.ge_u (local.get $i) (local.get $vecBytes)))
        (v128.store (i32.add (local.get $out) (local.get $i))
          (v128.and (v128.load (i32.add (local.get $dy) (local.get $i)))
                    (f32x4.gt (v128.load (i32.add (local.get $x) (local.get $i))) (v128.const i64x2 0 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 16)))
        (br $l)))
    (block $done2
      (loop $t
        (br_if $done2 (i32.ge_u (local.get $i) (local.get $bytes)))
        (f32.store (i32.add (local.get $out) (local.get $i))
          (select (f32.load (i32.add (local.get $dy) (local.get $i))) (f32.const 0)
                  (f32.gt (f32.load (i32.add (local.get $x) (local.get $i))) (f32.const 0))))
        (local.set $i (i32.add (local.get $i) (i32.const 4)))
        (br $t))))

  ;; One output pixel (4 channels from wj) with bounds checks: the image border.
  (func $conv_c1_px (param $plane i32) (param $wj i32) (param $po i32) (param $H i32) (param $W i32) (param $ob i32) (param $oy i32) (param $ox i32)
    (local $acc v128) (local $ky i32) (local $kx i32) (local $iy i32) (local $ix i32)
    (loop $kyl
      (local.set $iy (i32.sub (i32.add (local.get $oy) (local.get $ky)) (i32.const 1)))
      (if (i32.and (i32.ge_s (local.get $iy) (i32.const 0)) (i32.lt_s (local.get $iy) (local.get $H)))
        (then
          (local.set $kx (i32.const 0))
          (loop $kxl
            (local.set $ix (i32.sub (i32.add (local.get $ox) (local.get $kx)) (i32.const 1)))
            (if (i32.and (i32.ge_s (local.get $ix) (i32.const 0)) (i32.lt_s (local.get $ix) (local.get $W)))
              (then
                (local.set $acc (f32x4.add (local.get $acc)
                  (f32x4.mul
                    (v128.load32_splat (i32.add (local.get $plane) (i32.shl (i32.add (i32.mul (local.get $iy) (local.get $W)) (local.get $ix)) (i32.const 2))))
                    (v128.load (i32.add (local.get $wj) (i32.mul (i32.add (i32.mul (local.get $ky) (i32.const 3)) (local.get $kx)) (local.get $ob)))))))))
            (local.set $kx (i32.add (local.get $kx) (i32.const 1)))
            (br_if $kxl (i32.lt_u (local.get $kx) (i32.const 3))))))
      (local.set $ky (i32.add (local.get $ky) (i32.const 1)))
      (br_if $kyl (i32.lt_u (local.get $ky) (i32.const 3))))
    (v128.store (local.get $po) (local.get $acc)))

  ;; out [B, H, W, O] = x [B, H, W, 1] convolved with w [3, 3, 1, O], 'same' padding, stride 1;
  ;; O % 4 == 0, H >= 3, W >= 3.
  (func (export "conv3x3_c1") (param $x i32) (param $w i32) (param $out i32) (param $B i32) (param $H i32) (param $W i32) (param $O i32)
    (local $j i32) (local $b i32) (local $oy i32) (local $ox i32) (local $ob i32) (local $wj i32) (local $plane i32)
    (local $r0 i32) (local $r1 i32) (local $r2 i32) (local $po i32) (local $rowOut i32) (local $wb i32)
    (local $w0 v128) (local $w1 v128) (local $w2 v128) (local $w3 v128) (local $w4 v128) (local $w5 v128)
    (local $w6 v128) (local $w7 v128) (local $w8 v128)
    (local.set $ob (i32.shl (local.get $O) (i32.const 2)))
    (local.set $wb (i32.shl (local.get $W) (i32.const 2)))
    (loop $jl
      (local.set $wj (i32.add (local.get $w) (i32.shl (local.get $j) (i32.const 4))))
      (local.set $w0 (v128.load (local.get $wj)))
      (local.set $w1 (v128.load (i32.add (local.get $wj) (local.get $ob))))
      (local.set $w2 (v128.load (i32.add (local.get $wj) (i32.mul (local.get $ob) (i32.const 2)))))
      (local.set $w3 (v128.load (i32.add (local.get $wj) (i32.mul (local.get $ob) (i32.const 3)))))
      (local.set $w4 (v128.load (i32.add (local.get $wj) (i32.mul (local.get $ob) (i32.const 4)))))
      (local.set $w5 (v128.load (i32.add (local.get $wj) (i32.mul (local.get $ob) (i32.const 5)))))
      (local.set $w6 (v128.load (i32.add (local.get $wj) (i32.mul (local.get $ob) (i32.const 6)))))
      (local.set $w7 (v128.load (i32.add (local.get $wj) (i32.mul (local.get $ob) (i32.const 7)))))
      (local.set $w8 (v128.load (i32.add (local.get $wj) (i32.mul (local.get $ob) (i32.const 8)))))
      (local.set $b (i32.const 0))
      (loop $bl
        (local.set $plane (i32.add (local.get $x) (i32.shl (i32.mul (i32.mul (local.get $b) (local.get $H)) (local.get $W)) (i32.const 2))))
        (local.set $oy (i32.const 0))
        (loop $yl
          ;; output byte offset of (b, oy, 0), channel group j
          (local.set $rowOut (i32.add (i32.add (local.get $out) (i32.shl (local.get $j) (i32.const 4)))
            (i32.mul (i32.mul (i32.add (i32.mul (local.get $b) (local.get $H)) (local.get $oy)) (local.get $W)) (local.get $ob))))
          (if (i32.or (i32.eqz (local.get $oy)) (i32.eq (local.get $oy) (i32.sub (local.get $H) (i32.const 1))))
            (then
              (local.set $ox (i32.const 0))
              (loop $xl
                (call $conv_c1_px (local.get $plane) (local.get $wj)
                  (i32.add (local.get $rowOut) (i32.mul (local.get $ox) (local.get $ob)))
                  (local.get $H) (local.get $W) (local.get $ob) (local.get $oy) (local.get $ox))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br_if $xl (i32.lt_u (local.get $ox) (local.get $W)))))
            (else
              (call $conv_c1_px (local.get $plane) (local.get $wj) (local.get $rowOut)
                (local.get $H) (local.get $W) (local.get $ob) (local.get $oy) (i32.const 0))
              ;; rows oy-1, oy, oy+1 at column ox-1, for ox = 1
              (local.set $r1 (i32.add (local.get $plane) (i32.mul (local.get $oy) (local.get $wb))))
              (local.set $r0 (i32.sub (local.get $r1) (local.get $wb)))
              (local.set $r2 (i32.add (local.get $r1) (local.get $wb)))
              (local.set $po (i32.add (local.get $rowOut) (local.get $ob)))
              (local.set $ox (i32.const 1))
              (loop $xl
                (v128.store (local.get $po)
                  (f32x4.add
                    (f32x4.add
                      (f32x4.add (f32x4.mul (v128.load32_splat offset=0 (local.get $r0)) (local.get $w0))
                                 (f32x4.mul (v128.load32_splat offset=4 (local.get $r0)) (local.get $w1)))
                      (f32x4.add (f32x4.mul (v128.load32_splat offset=8 (local.get $r0)) (local.get $w2))
                                 (f32x4.mul (v128.load32_splat offset=0 (local.get $r1)) (local.get $w3))))
                    (f32x4.add
                      (f32x4.add (f32x4.mul (v128.load32_splat offset=4 (local.get $r1)) (local.get $w4))
                                 (f32x4.mul (v128.load32_splat offset=8 (local.get $r1)) (local.get $w5)))
                      (f32x4.add
                        (f32x4.add (f32x4.mul (v128.load32_splat offset=0 (local.get $r2)) (local.get $w6))
                                   (f32x4.mul (v128.load32_splat offset=4 (local.get $r2)) (local.get $w7)))
                        (f32x4.mul (v128.load32_splat offset=8 (local.get $r2)) (local.get $w8))))))
                (local.set $r0 (i32.add (local.get $r0) (i32.const 4)))
                (local.set $r1 (i32.add (local.get $r1) (i32.const 4)))
                (local.set $r2 (i32.add (local.get $r2) (i32.const 4)))
                (local.set $po (i32.add (local.get $po) (local.get $ob)))
                (local.set $ox (i32.add (local.get $ox) (i32.const 1)))
                (br_if $xl (i32.lt_u (local.get $ox) (i32.sub (local.get $W) (i32.const 1)))))
              (call $conv_c1_px (local.get $plane) (local.get $wj) (local.get $po)
                (local.get $H) (local.get $W) (local.get $ob) (local.get $oy) (i32.sub (local.get $W) (i32.const 1)))))
          (local.set $oy (i32.add (local.get $oy) (i32.const 1)))
          (br_if $yl (i32.lt_u (local.get $oy) (local.get $H))))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (br_if $bl (i32.lt_u (local.get $b) (local.get $B))))
      (local.set $j (i32.add (local.get $j) (i32.const 1)))
      (br_if $jl (i32.lt_u (i32.shl (local.get $j) (i32.const 2)) (local.get $O)))))
)
