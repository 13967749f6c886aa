^XA
^FX sutrace lot label. Placeholders (a dollar sign and a name) are filled in by services/barcodes/zpl.py: positions in dots from the layout, the symbol field (Data Matrix or Code 128) and the text fields. Registered versions of this file are kept in the database; a changed file prints nothing until QA registers it (POST /label-templates/lot/register).
^CI28
^PW$width
^LL$height
^LH0,0
^PON
^PMN
$symbol
$text
^FO$banner_x,$banner_y^GB$banner_w,$banner_h,$banner_h^FS
^FO$banner_x,$banner_text_y^A0N,$banner_size,$banner_size^FR^FB$banner_w,1,0,C,0^FH\^FD$status^FS
^PQ$copies,0,1,Y
^XZ
